"""What is stored of an upload: its pixels and orientation, none of its metadata."""

import io
import struct

import numpy as np
import pytest
from PIL import Image, PngImagePlugin

from benchmarks.corpus import (
    encoded,
    gif_cut_in_its_second_frame,
    la_tiff,
    lab_tiff,
    photo_with_location,
    photo_with_odd_orientation,
)
from benchmarks.uploads import written
from src.ml import decode_image


def exif_with_location(orientation: int = 1) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F], exif[0x0110], exif[0x0112] = "PhoneMaker", "Phone 12", orientation
    gps = exif.get_ifd(0x8825)
    gps[1], gps[2], gps[3], gps[4] = "N", (48.0, 51.0, 29.0), "E", (2.0, 17.0, 40.0)
    return exif


def canvas(text: str = "7") -> Image.Image:
    return Image.open(io.BytesIO(written(text))).convert("RGB")


def png_with_metadata() -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "PhoneMaker, rue de Rivoli")
    return encoded(canvas(), "PNG", pnginfo=info, exif=exif_with_location())


UPLOADS_WITH_METADATA = {
    "JPEG": (lambda: photo_with_location((400, 300)), "image/jpeg"),
    "PNG": (png_with_metadata, "image/png"),
    "WebP": (
        lambda: encoded(canvas(), "WEBP", exif=exif_with_location(), xmp=b"<x>PhoneMaker</x>", lossless=True),
        "image/webp",
    ),
    "GIF": (
        lambda: encoded(
            canvas().convert("P"),
            "GIF",
            comment=b"PhoneMaker",
            save_all=True,
            append_images=[Image.new("P", (280, 280))],
        ),
        "image/gif",
    ),
    "BMP": (lambda: encoded(canvas(), "BMP") + b"PhoneMaker, rue de Rivoli", "image/bmp"),
    "TIFF": (lambda: encoded(canvas(), "TIFF", tiffinfo={0x010F: "PhoneMaker", 0x010E: "rue de Rivoli"}), "image/png"),
}


@pytest.mark.parametrize("builder", [la_tiff, lab_tiff], ids=["premultiplied alpha", "CIELAB"])
def test_a_tiff_in_an_unusual_colour_mode_is_read_and_stored(client, builder):
    response = client.post("/api/predict", data=builder(), content_type="image/tiff")

    assert response.status_code == 201
    assert response.json["number"] == "111"
    stored = client.get(f"/api/predictions/{response.json['id']}/image")
    assert stored.mimetype == "image/png"
    # CIELAB is stored as RGB: its lightness and RGB's luminance differ by a few levels.
    assert np.abs(decode_image(stored.data).astype(int) - decode_image(builder())).max() <= 5


@pytest.mark.parametrize("image_format", UPLOADS_WITH_METADATA)
def test_an_upload_is_stored_without_its_metadata_and_with_its_pixels(app, client, image_format):
    build, content_type = UPLOADS_WITH_METADATA[image_format]
    upload = build()
    assert b"PhoneMaker" in upload

    prediction = client.post("/api/predict", data={"image": (io.BytesIO(upload), "upload")}).json
    stored = client.get(f"/api/predictions/{prediction['id']}/image")

    assert stored.mimetype == content_type
    assert b"PhoneMaker" not in stored.data and b"Rivoli" not in stored.data
    kept = Image.open(io.BytesIO(stored.data))
    assert dict(kept.getexif()) in ({}, {0x0112: 1})
    assert kept.getexif().get_ifd(0x8825) == {}
    assert np.array_equal(decode_image(stored.data), decode_image(upload))


def test_a_photos_orientation_is_all_that_is_kept_of_its_exif(client):
    photo = encoded(canvas().transpose(Image.Transpose.ROTATE_90), "JPEG", exif=exif_with_location(orientation=6))

    prediction = client.post("/api/predict", data={"image": (io.BytesIO(photo), "photo.jpg")}).json
    kept = Image.open(io.BytesIO(client.get(f"/api/predictions/{prediction['id']}/image").data))

    assert dict(kept.getexif()) == {0x0112: 6}
    assert prediction["number"] == "7"


def test_a_gif_cut_short_after_its_first_frame_is_stored_as_that_frame(client):
    # A download of an animated GIF that stopped in its second frame: the engine reads the first, and asking
    # Pillow whether the file is animated read on into the missing frame (a 500).
    cut = gif_cut_in_its_second_frame()

    response = client.post("/api/predict", data=cut, content_type="image/gif")

    assert response.status_code == 201
    assert response.json["number"] == "111"
    stored = client.get(f"/api/predictions/{response.json['id']}/image")
    assert stored.mimetype == "image/gif"
    assert np.array_equal(decode_image(stored.data), decode_image(cut))


@pytest.mark.parametrize("image_format", ["JPEG", "WEBP"])
@pytest.mark.parametrize(
    "field_type, value",
    [(4, struct.pack(">I", 70_000)), (9, struct.pack(">i", -1)), (2, b"6\0"), (11, struct.pack(">f", 7.5))],
    ids=["too large for EXIF", "negative", "text", "a float"],
)
def test_a_photo_whose_orientation_is_none_of_exifs_eight_is_stored_upright_as_sent(
    client, image_format, field_type, value
):
    # Written back as EXIF's 16-bit orientation, such a value was a 500 after the engine had read the photo.
    photo = photo_with_odd_orientation(image_format, field_type, value)

    response = client.post("/api/predict", data={"image": (io.BytesIO(photo), "photo")})

    assert response.status_code == 201
    assert response.json["number"] == "111"
    stored = client.get(f"/api/predictions/{response.json['id']}/image").data
    assert Image.open(io.BytesIO(stored)).getexif().get(0x0112, 1) == 1
    assert np.array_equal(decode_image(stored), decode_image(photo))
