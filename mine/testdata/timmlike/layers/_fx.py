_leaf_modules = set()


def register_notrace_module(module):
    """Marks a module as a leaf for tracing; returns it unchanged."""
    _leaf_modules.add(module)
    return module
