"""Images to send the service: digits written on a canvas (opaque or transparent), and base64 text."""
import base64
import io

import cv2
import numpy as np
from PIL import Image


def written(text: str, size=(280, 280), *, transparent=False, image_format="PNG") -> bytes:
    """`text` in thick strokes, dark on a white canvas (or on a transparent one, as a browser canvas exports)."""
    width, height = size
    scale, thickness = height / 40, max(height // 20, 4)
    ink = np.zeros((height, width), np.uint8)
    if text:
        (text_width, text_height), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thickness)
        origin = ((width - text_width) // 2, (height + text_height) // 2)
        cv2.putText(ink, text, origin, cv2.FONT_HERSHEY_SIMPLEX, scale, 255, thickness, cv2.LINE_AA)
    if transparent:
        image = Image.fromarray(np.dstack([np.zeros_like(ink)] * 3 + [ink]), "RGBA")
    else:
        image = Image.fromarray(255 - ink)
    encoded = io.BytesIO()
    image.save(encoded, format=image_format)
    return encoded.getvalue()


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
