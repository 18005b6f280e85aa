# The compiled book (_cbook.pyx): the interface of L2Book, which it cannot subclass at run time
# (a C type); typed as one so it can stand wherever an L2Book does.
from agenthft.book.l2 import L2Book

class CL2Book(L2Book): ...
