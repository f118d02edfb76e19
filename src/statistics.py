"""What was read and corrected, counted over the stored predictions."""

from src import storage
from src.readings import DIGITS, is_label_for


def statistics() -> dict:
    """Counts per digit read, corrections, accuracy on corrected predictions, and the confusion matrix.

    The matrix's rows are the true digits (from corrections), its columns the digits read. A stored
    reading or label that is not digits (none can be stored now; older rows may hold one) is left out.
    """
    digit_counts = [0] * 10
    confusion = [[0] * 10 for _ in range(10)]
    predictions = corrections = right = 0
    for number, label, count in storage.numbers_and_labels():
        if not DIGITS.fullmatch(number):
            continue
        predictions += count
        for digit in number:
            digit_counts[int(digit)] += count
        if is_label_for(label, number):
            corrections += count
            right += count * (label == number)
            for true, read in zip(label, number):
                confusion[int(true)][int(read)] += count
    return {
        "predictions": predictions,
        "digit_counts": digit_counts,
        "corrections": corrections,
        "accuracy": right / corrections if corrections else None,
        "confusion_matrix": confusion,
    }
