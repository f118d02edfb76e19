// The figures of "How it works", taken from the model card the service publishes, in words for anyone.
import { modelCard } from "./api.js";

const count = new Intl.NumberFormat();

function duration(seconds) {
  const minutes = Math.round(seconds / 60);
  return minutes < 2 ? `${Math.round(seconds)} seconds` : `${count.format(minutes)} minutes`;
}

function figures(card) {
  const test = card.mnist_test || {};
  const training = card.training_data || {};
  const rows = [];
  if (test.accuracy != null && test.samples) {
    const right = Math.round(test.accuracy * test.samples);
    rows.push([
      "Right on",
      `${count.format(right)} of ${count.format(test.samples)} test digits it had never seen (${(test.accuracy * 100).toFixed(2)}%)`,
    ]);
  }
  if (training.training_digits) {
    const distorted = training.distorted_copies_per_digit;
    const copies = distorted
      ? `, each also shown in ${distorted} distorted ${distorted === 1 ? "copy" : "copies"} (turned, slanted, thicker or thinner)`
      : "";
    const from = training.dataset ? ` from ${training.dataset}` : "";
    rows.push(["Learned from", `${count.format(training.training_digits)} handwritten digits${from}${copies}`]);
  }
  if (training.digits_in_other_styles && training.marks_that_are_not_digits) {
    rows.push([
      "And from",
      `${count.format(training.digits_in_other_styles)} digits written as in other countries (a 1 with a long ` +
        `upstroke, a 7 with a bar), and ${count.format(training.marks_that_are_not_digits)} letters, doodles ` +
        "and pictures, so that it can say when something is not a digit",
    ]);
  }
  if (card.training_seconds) {
    rows.push(["Learning took", duration(card.training_seconds)]);
  }
  if (card.version) {
    rows.push(["Version", card.version]);
  }
  return rows;
}

export function loadAbout() {
  const $section = $("#about");
  modelCard()
    .done((card) => {
      $section.find(".figures").append(
        figures(card).flatMap(([term, value]) => [$("<dt>", { text: term }), $("<dd>", { text: value })]),
      );
    })
    .fail(() => {
      $section.find(".about__message").text("The model’s figures couldn’t be loaded just now.").prop("hidden", false);
    });
}
