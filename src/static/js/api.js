// Calls to the prediction service, and the sentence a person should read when one fails.

const JSON_TYPE = "application/json";

function sendJson(method, url, body, headers = {}) {
  return $.ajax({ method, url, data: JSON.stringify(body), contentType: JSON_TYPE, dataType: "json", headers });
}

// `replaces`: the id of this browser's earlier reading of the same drawing, stored in its place.
export function predictDrawing(dataUrl, replaces = null) {
  const body = { image: dataUrl, save: true, source: "canvas" };
  if (replaces != null) {
    body.replaces = replaces;
  }
  return sendJson("POST", "/api/predict", body);
}

export function predictFile(file) {
  const form = new FormData();
  form.append("image", file, file.name || "pasted-image");
  form.append("save", "true");
  form.append("source", "upload");
  return $.ajax({
    method: "POST", url: "/api/predict", data: form, processData: false, contentType: false, dataType: "json",
  });
}

export function listPredictions({ page, perPage, digit }) {
  const query = { page, per_page: perPage };
  if (digit !== "") {
    query.digit = digit;
  }
  return $.ajax({ url: "/api/predictions", data: query, dataType: "json" });
}

// `etag`: the version of the prediction the person saw; if it has changed since (another tab read the drawing
// again, or corrected it), the service refuses with 412 and changes nothing.
export function correctPrediction(id, label, etag = null) {
  return sendJson("PATCH", predictionUrl(id), { label }, etag == null ? {} : { "If-Match": etag });
}

export function getPrediction(id) {
  return $.ajax({ url: predictionUrl(id), dataType: "json" });
}

function predictionUrl(id) {
  return `/api/predictions/${encodeURIComponent(id)}`;
}

export function modelCard() {
  return $.ajax({ url: "/api/model", dataType: "json" });
}

export function modelInputUrl(id) {
  return `/api/predictions/${encodeURIComponent(id)}/input.png`;
}

// An image's URL marked with the version of what it shows: a page reuses an image it has loaded for as long as it is
// open, whatever the server says, and a drawing read again keeps its prediction's URLs.
export function versioned(url, version) {
  const marked = new URL(url, window.location.href);
  marked.searchParams.set("v", version);
  return marked.pathname + marked.search;
}

export function wasAborted(xhr) {
  return xhr.statusText === "abort";
}

function retryAfter(xhr) {
  const seconds = parseInt(xhr.getResponseHeader("Retry-After"), 10);
  return Number.isFinite(seconds) && seconds > 0 ? `in ${seconds} second${seconds === 1 ? "" : "s"}` : "in a moment";
}

// How many marks that are not digits a 422 says the image held (0: it looks blank), if it says.
function marksLeftOut(xhr) {
  try {
    const problem = xhr.responseJSON || JSON.parse(xhr.responseText);
    return Number.isInteger(problem.marks) ? problem.marks : 0;
  } catch {
    return 0;
  }
}

// The service's problem details are written for developers; a person gets advice instead.
export function explain(xhr, source) {
  const drawing = source === "canvas";
  if (source === "correction" && (xhr.status === 400 || xhr.status === 422)) {
    return "That correction wasn’t accepted: pick one digit for each digit read.";
  }
  switch (xhr.status) {
    case 0:
      return "The server can’t be reached. Check your connection and try again.";
    case 400:
      return drawing
        ? "The drawing couldn’t be sent properly. Please try again."
        : "That file couldn’t be read as an image. Try saving it as PNG or JPEG.";
    case 403:
      return "Only predictions made in this browser can be corrected here.";
    case 404:
      return "That prediction no longer exists.";
    case 409:
      return "That reading was replaced by a new one meanwhile, so nothing was changed. Check the new reading.";
    case 412:
      return "This prediction was changed in another tab or window, so nothing was saved. Here it is as it is now: check it, then correct it again if you need to.";
    case 413:
      return "That image is too large. Try a smaller or cropped picture.";
    case 415:
      return "That file isn’t an image it can read. Use a PNG, JPEG, WebP, GIF, BMP or TIFF picture.";
    case 422:
      if (drawing && marksLeftOut(xhr) > 0) {
        // What was drawn is there but reads as no digit: often digits run together, or a letter.
        return "No digit found on the pad. Write each digit on its own, with a little space between them, then try again.";
      }
      return drawing
        ? "No digit found on the pad. Draw a digit with clear strokes, then try again."
        : "No digit found in that picture. Try one with dark, clear digits on a plain background.";
    case 429:
      return `Too many requests for now. Please try again ${retryAfter(xhr)}.`;
    default:
      return "Something went wrong on the server. Please try again in a moment.";
  }
}
