from .loops import SubModelValLoop

__all__ = ['SubModelValLoop']
