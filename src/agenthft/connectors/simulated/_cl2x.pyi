# The compiled L2 exchange model (_cl2x.pyx): the interface of L2Exchange, typed as one.
from agenthft.connectors.simulated.l2exchange import L2Exchange

class CL2Exchange(L2Exchange): ...
