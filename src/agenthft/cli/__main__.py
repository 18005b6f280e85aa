from agenthft.cli import main

raise SystemExit(main())
