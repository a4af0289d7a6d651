"""Benchmarks: label efficiency (mIoU vs labels) and speed/memory."""
