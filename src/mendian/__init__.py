"""mendian (门店): run a retail chain of many stores as one business."""

__version__ = "0.1.0"
