from .dilated_convnet import DilatedConvNet

__all__ = ['DilatedConvNet']
