"""Domain discriminators for adversarial domain adaptation."""
from .fc_discriminator import FCDiscriminator

__all__ = ['FCDiscriminator']
