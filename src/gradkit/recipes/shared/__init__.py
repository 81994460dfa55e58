"""What several recipes share: data loaders, augmentation, progress bars, figures, threads.

Modules here are not recipes (the registry discovers recipes among the modules of
:mod:`gradkit.recipes` itself, never in this package).
"""
