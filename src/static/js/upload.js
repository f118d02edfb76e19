// Getting a picture from the person: the file picker, drag and drop anywhere on the page, and pasting.

// dragleave fires whenever the pointer crosses a child element, so the highlight ends when dragover stops instead.
const DRAG_END_DELAY = 150;

function firstImage(files) {
  return Array.from(files || []).find((file) => file.type.startsWith("image/")) || (files && files[0]) || null;
}

export class Upload {
  constructor(onFile) {
    this.onFile = onFile;
    this.$input = $("#upload");
    this.$zone = $("#drop-zone");
    this.$preview = this.$zone.find(".preview");
    this.$image = this.$preview.find("img");
    this.objectUrl = null;
    this.dragTimer = 0;

    this.$input.on("change", () => {
      const file = this.$input[0].files[0];
      // Reset so that choosing the same file again still fires change.
      this.$input.val("");
      if (file) {
        this.onFile(file);
      }
    });
    $(document)
      .on("dragover", (event) => this.dragOver(event))
      .on("drop", (event) => this.drop(event))
      .on("paste", (event) => this.paste(event));
  }

  get $boxes() {
    return this.$preview.find(".boxes");
  }

  // Resolves with the picture's size in pixels, or null when the browser cannot show it (the server may still read it).
  show(file) {
    if (this.objectUrl) {
      URL.revokeObjectURL(this.objectUrl);
    }
    this.objectUrl = URL.createObjectURL(file);
    const image = this.$image[0];
    image.src = this.objectUrl;
    this.$image.attr("alt", file.name ? `Your upload, ${file.name}` : "Your pasted image");
    return image.decode().then(
      () => {
        this.$preview.prop("hidden", false);
        return { width: image.naturalWidth, height: image.naturalHeight };
      },
      () => {
        this.$preview.prop("hidden", true);
        return null;
      },
    );
  }

  dragOver(event) {
    const transfer = event.originalEvent.dataTransfer;
    if (!transfer || !Array.from(transfer.types).includes("Files")) {
      return;
    }
    event.preventDefault();
    transfer.dropEffect = "copy";
    this.$zone.addClass("is-dragging");
    clearTimeout(this.dragTimer);
    this.dragTimer = setTimeout(() => this.$zone.removeClass("is-dragging"), DRAG_END_DELAY);
  }

  drop(event) {
    const transfer = event.originalEvent.dataTransfer;
    if (!transfer || !transfer.files.length) {
      return;
    }
    event.preventDefault();
    this.$zone.removeClass("is-dragging");
    this.onFile(firstImage(transfer.files));
  }

  paste(event) {
    const clipboard = event.originalEvent.clipboardData;
    const file = clipboard && Array.from(clipboard.files).find((each) => each.type.startsWith("image/"));
    if (file) {
      event.preventDefault();
      this.onFile(file);
    }
  }
}
