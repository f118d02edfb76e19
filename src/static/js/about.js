// The "How it works" section's figures, taken from the model card the service publishes.
import { modelCard } from "./api.js";

const count = new Intl.NumberFormat();

function figures(card) {
  const test = card.mnist_test || {};
  const training = card.training_data || {};
  const rows = [];
  if (test.accuracy != null) {
    rows.push(["Accuracy", `${(test.accuracy * 100).toFixed(2)}% of ${count.format(test.samples)} MNIST test digits`]);
  }
  if (training.dataset) {
    const distorted = training.distorted_copies_per_digit;
    const copies = distorted ? `, plus ${distorted} distorted ${distorted === 1 ? "copy" : "copies"} of each` : "";
    rows.push(["Trained on", `${count.format(training.training_digits)} ${training.dataset} digits${copies}`]);
  }
  if (card.name) {
    rows.push(["Model", card.name]);
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
      const steps = [...(card.preprocessing || []), "classify each digit: a probability for every one of 0 to 9"];
      $section.find(".about__steps").append(steps.map((step) => $("<li>", { text: step })));
      $section.find(".figures").append(
        figures(card).flatMap(([term, value]) => [$("<dt>", { text: term }), $("<dd>", { text: value })]),
      );
    })
    .fail(() => {
      $section.find(".about__message").text("The model’s figures couldn’t be loaded just now.").prop("hidden", false);
    });
}
