"""Small-cell suppression (primary and complementary) and the checker that audits it.

Two halves meet at one seam. The checker (:mod:`.checker`, with :mod:`.bounds` and
:mod:`.linalg`) plays the outsider: which suppressed or hidden values does a published
table give away? The chooser (:mod:`.choose`) picks the cells to suppress until the
checker finds no small value. :mod:`.table` holds what both read: the table model, its
margins as equations and the small-cell rule.
"""

from consumers.insights.suppression.checker import derivable_cells
from consumers.insights.suppression.choose import Suppression, suppress
from consumers.insights.suppression.table import Margin, is_small

__all__ = ["Margin", "Suppression", "derivable_cells", "is_small", "suppress"]
