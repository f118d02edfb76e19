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

const when = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

function percent(share) {
  return `${(share * 100).toFixed(2)}%`;
}

function origin(version) {
  if (!version.gate) {
    return "the model the service came with";
  }
  const corrections = version.corrections || {};
  return `retrained on ${when.format(new Date(version.created_at))} with ${count.format(corrections.training || 0)} ` +
    "digits people corrected";
}

// What the gate found, in words: how the version read test digits and the corrections of people it never
// learned from, beside the version in use when it was trained.
function scores(version) {
  const { candidate, current } = version.gate;
  const parts = [`${percent(candidate.mnist_test)} of ${count.format(candidate.mnist_test_digits)} test digits ` +
    `(the version before it: ${percent(current.mnist_test)})`];
  if (candidate.held_back != null) {
    parts.push(`${percent(candidate.held_back)} of ${count.format(candidate.held_back_samples)} corrected digits by ` +
      `people it had not learned from (before: ${percent(current.held_back)})`);
  }
  return `It read right ${parts.join(" and ")}.`;
}

function history(version) {
  const sentences = [`${version.version}: ${origin(version)}.`];
  if (version.gate) {
    sentences.push(scores(version));
  }
  if (version.promoted_at) {
    sentences.push(`Put in use on ${when.format(new Date(version.promoted_at))}.`);
  }
  if (version.in_use) {
    sentences.push("It answers now.");
  } else if (version.gate && !version.promoted) {
    sentences.push("Not put in use: it did worse than the version in use.");
  }
  return sentences.join(" ");
}

function showVersions($section, card) {
  const versions = card.versions || [];
  const inUse = versions.find((version) => version.in_use);
  if (!inUse) {
    return;
  }
  const $versions = $section.find(".versions");
  $versions.find(".versions__in-use").text(`Answering now: version ${inUse.version}, ${origin(inUse)}.`);
  $versions.find(".versions__history").append(
    versions.slice().reverse().map((version) => $("<li>", { text: history(version) })),
  );
  $versions.prop("hidden", false);
}

export function loadAbout() {
  const $section = $("#about");
  modelCard()
    .done((card) => {
      $section.find(".figures").append(
        figures(card).flatMap(([term, value]) => [$("<dt>", { text: term }), $("<dd>", { text: value })]),
      );
      showVersions($section, card);
    })
    .fail(() => {
      $section.find(".about__message").text("The model’s figures couldn’t be loaded just now.").prop("hidden", false);
    });
}
