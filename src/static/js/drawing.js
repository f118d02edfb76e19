// One drawing, one entry in the history: its first reading is stored as a prediction, and every later reading
// (after another stroke, an undo or the eraser) replaces that one, until Clear starts a new drawing.
import { predictDrawing } from "./api.js";

// The rejection of a reading that a newer one made pointless before it was sent.
export const SUPERSEDED = new Error("A newer reading of the drawing was asked for.");

export class Drawing {
  constructor() {
    this.restart();
  }

  restart() {
    this.generation = (this.generation || 0) + 1;
    this.entry = null;
    this.queue = Promise.resolve();
    this.latest = null;
  }

  // Readings are sent one at a time, so that each knows the entry the one before stored: a request cut short
  // would leave an entry on the server that the page never heard of. A reading overtaken while it waits is skipped.
  read(dataUrl) {
    const ticket = {};
    const generation = this.generation;
    this.latest = ticket;
    const answer = this.queue.then(() => {
      if (this.latest !== ticket || this.generation !== generation) {
        throw SUPERSEDED;
      }
      return this.store(dataUrl, generation);
    });
    this.queue = answer.catch(() => {});
    return answer;
  }

  store(dataUrl, generation) {
    const replaces = this.entry;
    return Promise.resolve(predictDrawing(dataUrl, replaces))
      .catch((xhr) => {
        // The entry is gone (deleted, or cleared when the service restarted) or no longer this browser's.
        if (replaces != null && (xhr.status === 403 || xhr.status === 404)) {
          return predictDrawing(dataUrl);
        }
        throw xhr;
      })
      .then((prediction) => {
        if (this.generation === generation) {
          this.entry = prediction.id;
        }
        return prediction;
      });
  }
}
