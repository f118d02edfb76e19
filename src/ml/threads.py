"""How many threads the engine's native libraries use."""

import cv2
from threadpoolctl import threadpool_limits


def compute_on_one_thread() -> None:
    """One BLAS thread and one OpenCV thread for this process.

    A service reads one image per request and runs requests side by side, in threads or worker
    processes: a pool of threads for each one-image operation only makes them wait on each other.
    """
    threadpool_limits(limits=1, user_api="blas")
    cv2.setNumThreads(1)
