// Wires the page together: what drawing, uploading and the buttons ask of the service, and where the answers go.
import { explain, predictFile } from "./api.js";
import { loadAbout } from "./about.js";
import { Drawing, SUPERSEDED } from "./drawing.js";
import { History } from "./history.js";
import { Pad } from "./pad.js";
import { ResultView } from "./result.js";
import { Tabs } from "./tabs.js";
import { Upload } from "./upload.js";

// Long enough to start the next digit of a number before the pad is read.
const AUTO_PREDICT_DELAY = 600;

$(() => {
  const pad = new Pad($("#pad")[0]);
  const drawing = new Drawing();
  // Each shows what a correction made in the other changed.
  const history = new History({ onCorrected: (prediction) => result.corrected(prediction) });
  const result = new ResultView({ onCorrected: () => history.load(1) });
  const tabs = new Tabs($("[role=tablist]"));
  const upload = new Upload(predictUpload);
  const $padBoxes = $("#panel-draw .boxes");
  // The answer the page waits for; any other that arrives is out of date and left unshown.
  let awaited = null;
  // The state of the pad (its version) that was last sent to be read, so that Predict does not read it twice.
  let sentVersion = -1;
  let timer = 0;

  function show(answer, source, overlay) {
    const token = {};
    awaited = token;
    result.busy();
    Promise.all([answer, overlay]).then(
      ([prediction, where]) => {
        if (awaited === token) {
          awaited = null;
          result.show(prediction, where);
          history.load(1);
        }
      },
      (error) => {
        if (awaited === token && error !== SUPERSEDED) {
          awaited = null;
          result.fail(explain(error, source));
        }
      },
    );
  }

  function predictPad() {
    clearTimeout(timer);
    if (!pad.hasInk) {
      result.fail("The pad is empty. Draw a digit on it first, then press Predict.", { error: false });
      return;
    }
    if (pad.version === sentVersion) {
      return;
    }
    const version = pad.version;
    sentVersion = version;
    const { dataUrl, width, height, place } = pad.snapshot();
    const answer = drawing.read(dataUrl);
    // A reading that failed may be asked for again with Predict.
    answer.catch(() => {
      if (sentVersion === version) {
        sentVersion = -1;
      }
    });
    // Boxes found on the drawing as it was sent (its digits apart), shown where those digits are on the pad.
    const onPad = answer.then((prediction) => ({
      ...prediction,
      digits: prediction.digits.map((found) => ({ ...found, box: place(found.box) })),
    }));
    show(onPad, "canvas", { $boxes: $padBoxes, size: { width, height } });
  }

  function predictUpload(file) {
    clearTimeout(timer);
    // The result will be the picture's, so Predict must read the drawing again.
    sentVersion = -1;
    // The previous answer's boxes would sit over the new picture while it is read.
    result.reset();
    tabs.select("tab-upload");
    const overlay = upload.show(file).then((size) => ({ $boxes: upload.$boxes, size }));
    show(Promise.resolve(predictFile(file)), "upload", overlay);
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
      // An answer still on its way is about the drawing as it was.
      awaited = null;
      if (pad.hasInk) {
        result.stale();
        timer = setTimeout(predictPad, AUTO_PREDICT_DELAY);
      } else {
        result.reset();
      }
    });

  $("#predict").on("click", predictPad);
  $("#undo").on("click", () => pad.undo());
  $("#clear").on("click", () => {
    drawing.restart();
    pad.clear();
  });
  $("#eraser").on("click", function toggleEraser() {
    const erasing = $(this).attr("aria-pressed") !== "true";
    $(this).attr("aria-pressed", String(erasing));
    pad.setErasing(erasing);
  });

  history.load(1);
  loadAbout();
});
