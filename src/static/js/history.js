// The history: recent predictions page by page, filtered by digit, each correctable by the browser that made it.
import { correctPrediction, explain, getPrediction, listPredictions, versioned, wasAborted } from "./api.js";
import { howSure } from "./result.js";

const PER_PAGE = 6;
const SOURCES = { canvas: "drawn", upload: "uploaded", api: "sent through the API" };
const UNITS = [["year", 31536000], ["month", 2592000], ["day", 86400], ["hour", 3600], ["minute", 60]];
const relative = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
const absolute = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function ago(date) {
  const seconds = (date.getTime() - Date.now()) / 1000;
  const [unit, size] = UNITS.find(([, length]) => Math.abs(seconds) >= length) || ["second", 1];
  return unit === "second" ? "just now" : relative.format(Math.round(seconds / size), unit);
}

export class History {
  // `onCorrected` is told of each prediction as the service has it after a correction here, or a refusal of one.
  constructor({ onCorrected = () => {} } = {}) {
    this.onCorrected = onCorrected;
    this.$list = $("#history");
    this.$message = $(".history-message");
    this.$filter = $("#history-digit");
    this.$pager = $(".pager");
    this.$position = $(".pager__position");
    this.$newer = $(".pager__newer");
    this.$older = $(".pager__older");
    this.page = 1;
    this.pages = 1;
    this.request = null;

    this.$filter.on("change", () => this.load(1));
    this.$newer.on("click", () => this.load(this.page - 1));
    this.$older.on("click", () => this.load(this.page + 1));
    const itemOf = (event) => $(event.currentTarget).closest(".history-item");
    this.$list
      .on("click", ".history-item__correct", (event) => this.openCorrection(itemOf(event)))
      .on("click", ".correction__cancel", (event) => this.closeCorrection(itemOf(event)))
      .on("submit", ".correction", (event) => {
        event.preventDefault();
        this.submitCorrection(itemOf(event));
      });
  }

  load(page = this.page) {
    if (this.request) {
      this.request.abort();
    }
    this.request = listPredictions({ page, perPage: PER_PAGE, digit: this.$filter.val() })
      .done((data) => this.render(data, page))
      .fail((xhr) => {
        if (!wasAborted(xhr)) {
          this.say(`The history couldn’t be loaded. ${explain(xhr, "history")}`, true);
        }
      })
      .always(() => {
        this.request = null;
      });
  }

  render(data, page) {
    this.page = page;
    this.pages = Math.max(1, data.pages);
    this.$list.empty().append(data.items.map((item) => this.item(item)));
    if (data.items.length) {
      this.$message.prop("hidden", true);
    } else {
      this.say(this.$filter.val() === ""
        ? "Nothing yet: your predictions will appear here."
        : "No predictions contain that digit.");
    }
    this.$pager.prop("hidden", this.pages < 2);
    this.$position.text(`Page ${this.page} of ${this.pages}`);
    this.$newer.prop("disabled", this.page <= 1);
    this.$older.prop("disabled", this.page >= this.pages);
  }

  say(text, error = false) {
    this.$message.text(text).toggleClass("is-error", error).prop("hidden", false);
  }

  item(prediction) {
    const created = new Date(prediction.created_at);
    const corrected = prediction.label != null && prediction.label !== prediction.number;
    const sure = howSure(prediction.digits.map((found) => found.confidence));
    const $number = $("<p>", { class: "history-item__number" })
      .append($("<span>", { class: "history-item__value", text: corrected ? prediction.label : prediction.number }));
    if (corrected) {
      $number.append($("<span>", { class: "badge", text: `corrected, read as ${prediction.number}` }));
    } else if (prediction.label != null) {
      $number.append($("<span>", { class: "badge", text: "confirmed" }));
    }
    return $("<li>", { class: "history-item", "data-id": prediction.id, "data-etag": prediction.etag }).append(
      $("<img>", {
        class: "history-item__thumb",
        src: versioned(prediction.image_url, prediction.sha256.slice(0, 16)),
        alt: `Image read as ${prediction.number}`,
        loading: "lazy",
      }),
      $number,
      $("<p>", { class: "history-item__meta" }).append(
        $("<time>", { datetime: prediction.created_at, title: absolute.format(created), text: ago(created) }),
        document.createTextNode(` · ${SOURCES[prediction.source] || prediction.source} · ${sure}`),
      ),
      this.actions(prediction),
    );
  }

  // The service takes one digit for each digit it read, so the form offers a choice per digit.
  actions(prediction) {
    const current = prediction.label ?? prediction.number;
    const pickers = Array.from(current, (digit, index) => {
      const id = `correction-${prediction.id}-${index}`;
      const name = current.length > 1 ? `Right digit ${index + 1} of ${current.length}` : "Right digit";
      return [
        $("<label>", { for: id, class: "visually-hidden", text: name }),
        $("<select>", { id }).append(Array.from({ length: 10 }, (_, value) =>
          $("<option>", { value, text: value, selected: String(value) === digit }))),
      ];
    });
    return $("<div>", { class: "history-item__actions" }).append(
      $("<button>", { type: "button", class: "button history-item__correct", text: "Correct it" }),
      $("<form>", { class: "correction", hidden: true, "aria-label": `Correct ${prediction.number}` }).append(
        $("<span>", { class: "correction__prompt", "aria-hidden": "true", text: "It should read" }),
        pickers.flat(),
        $("<button>", { type: "submit", class: "button button--primary", text: "Save" }),
        $("<button>", { type: "button", class: "button correction__cancel", text: "Cancel" }),
        $("<p>", { class: "correction__error", role: "alert", hidden: true }),
      ),
    );
  }

  // The item as the service has it now, its correction form open with `message`: the person corrected what this
  // list showed, which another tab or window has changed since.
  showChanged($item, message) {
    getPrediction($item.attr("data-id"))
      .done((prediction) => {
        const $current = this.item(prediction);
        $item.replaceWith($current);
        this.onCorrected(prediction);
        this.openCorrection($current);
        $current.find(".correction__error").text(message).prop("hidden", false);
      })
      .fail((xhr) => {
        $item.find(".correction__error").text(explain(xhr, "correction")).prop("hidden", false);
      });
  }

  openCorrection($item) {
    $item.find(".history-item__correct").prop("hidden", true);
    $item.find(".correction").prop("hidden", false).find("select").first().trigger("focus");
  }

  closeCorrection($item) {
    $item.find(".correction").prop("hidden", true);
    $item.find(".history-item__correct").prop("hidden", false).trigger("focus");
  }

  submitCorrection($item) {
    const $error = $item.find(".correction__error");
    const label = $item.find(".correction select").map((_, select) => select.value).get().join("");
    $item.find(".correction button").prop("disabled", true);
    correctPrediction($item.attr("data-id"), label, $item.attr("data-etag"))
      .done((prediction) => {
        const $updated = this.item(prediction);
        $item.replaceWith($updated);
        this.onCorrected(prediction);
        $updated.find(".history-item__correct").trigger("focus");
      })
      .fail((xhr) => {
        if (xhr.status === 412) {
          this.showChanged($item, explain(xhr, "correction"));
          return;
        }
        $error.text(explain(xhr, "correction")).prop("hidden", false);
        $item.find(".correction button").prop("disabled", false);
      });
  }
}
