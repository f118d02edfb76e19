// Wires the page together: what drawing, uploading and the buttons ask of the service, and where the answers go.
import { explain, predictDrawing, predictFile, wasAborted } from "./api.js";
import { loadAbout } from "./about.js";
import { History } from "./history.js";
import { Pad } from "./pad.js";
import { ResultView } from "./result.js";
import { Tabs } from "./tabs.js";
import { Upload } from "./upload.js";

// Long enough to start the next digit of a number before the pad is read.
const AUTO_PREDICT_DELAY = 600;

$(() => {
  const pad = new Pad($("#pad")[0]);
  const result = new ResultView();
  const history = new History();
  const tabs = new Tabs($("[role=tablist]"));
  const upload = new Upload(predictUpload);
  const $padBoxes = $("#panel-draw .boxes");
  let request = null;
  let timer = 0;

  function abort() {
    if (request) {
      request.abort();
    }
  }

  // Only the latest request may change the page: an older one is aborted, and its answer ignored if it arrives anyway.
  function send(current, source, overlay) {
    abort();
    result.busy();
    request = current;
    Promise.all([current, overlay]).then(
      ([prediction, where]) => {
        if (request === current) {
          result.show(prediction, where);
          history.load(1);
        }
      },
      () => {
        if (request === current && !wasAborted(current)) {
          result.fail(explain(current, source));
        }
      },
    ).finally(() => {
      if (request === current) {
        request = null;
      }
    });
  }

  function predictPad() {
    clearTimeout(timer);
    if (!pad.hasInk) {
      result.fail("The pad is empty. Draw a digit on it first, then press Predict.", { error: false });
      return;
    }
    const { dataUrl, width, height } = pad.snapshot();
    send(predictDrawing(dataUrl), "canvas", { $boxes: $padBoxes, size: { width, height } });
  }

  function predictUpload(file) {
    clearTimeout(timer);
    // The previous answer's boxes would sit over the new picture while it is read.
    result.reset();
    tabs.select("tab-upload");
    const overlay = upload.show(file).then((size) => ({ $boxes: upload.$boxes, size }));
    send(predictFile(file), "upload", overlay);
  }

  $("#pad")
    .on("pad:start", () => clearTimeout(timer))
    .on("pad:tap", (event) => {
      const index = result.boxAt(event.point);
      if (index >= 0) {
        event.preventDefault();
        result.select(index);
      }
    })
    .on("pad:change", () => {
      clearTimeout(timer);
      abort();
      if (pad.hasInk) {
        result.stale();
        timer = setTimeout(predictPad, AUTO_PREDICT_DELAY);
      } else {
        result.reset();
      }
    });

  $("#predict").on("click", predictPad);
  $("#undo").on("click", () => pad.undo());
  $("#clear").on("click", () => pad.clear());
  $("#eraser").on("click", function toggleEraser() {
    const erasing = $(this).attr("aria-pressed") !== "true";
    $(this).attr("aria-pressed", String(erasing));
    pad.setErasing(erasing);
  });

  history.load(1);
  loadAbout();
});
