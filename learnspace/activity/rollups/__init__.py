"""Roll-ups of activation, active use and lessons: what the statistics read, kept right as things change.

The map (units, periods, figures, and which listener carries a change to them when) is
learnspace/activity/README.md; the definitions are also in the project README, "Statistics roll-ups".
Modules: sources (the domain tables and columns counted: the only names of other domains here),
chains (unit keys, school → unit chains), counts (days, periods and every figure as COUNT(*) per school),
upkeep (session listeners and recounts on the write path), reads (what the statistics read; never
writes), truth (ground truth, stored rows, rebuild).
"""
from .chains import ALL, chains, region_key, school_key, units_of_school
from .counts import PERIODS, next_period, period_start
from .reads import (
                   DayFigures,
                   RangeFigures,
                   Totals,
                   active_in,
                   active_in_periods,
                   add_roles,
                   daily,
                   new_activations,
                   period_active,
                   range_figures,
                   role_totals,
                   totals,
)
from .sources import ROLES
from .truth import Rollups, ground_truth, rebuild, stored
from .upkeep import activity_recorded, keep_history, settle, space_activated

__all__ = ["ALL", "PERIODS", "ROLES", "DayFigures", "RangeFigures", "Rollups", "Totals", "active_in", "keep_history",
           "active_in_periods", "activity_recorded", "add_roles", "chains", "daily", "ground_truth",
           "new_activations", "next_period", "period_active", "period_start", "range_figures", "rebuild",
           "region_key", "role_totals", "school_key", "settle", "space_activated", "stored", "totals",
           "units_of_school"]
