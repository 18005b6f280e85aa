from agenthft.cli import entry

entry()
