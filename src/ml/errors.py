"""Errors the recognition engine raises for input it cannot read."""


class ImageError(ValueError):
    """The bytes given are not an image the engine can use."""


class NotAnImage(ImageError):
    """The bytes are not a supported image, or the image is truncated or corrupt."""


class ImageTooLarge(ImageError):
    """The image has more pixels than the configured limit; it was not decoded."""
