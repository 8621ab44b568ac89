"""Charts: one module per step; functions plot_x(result, ax=None, ...) -> Axes."""
