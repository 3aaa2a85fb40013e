"""The faces: the service layer, the command line and ``rplsim check``."""
