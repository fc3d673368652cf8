"""Image classification: MNIST's IDX files and folders of images, the image task on the training engine, one
file per network family (``models/``), the convolution arithmetic (``shapes``, ``walkthrough``) and pictures of
filters and feature maps."""
