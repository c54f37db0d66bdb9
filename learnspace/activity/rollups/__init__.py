"""Roll-ups of activation, active use and lessons: what the statistics read, kept right as things change.

Definitions (the same text is in README, "Activation and usage statistics"):

- Units: "all" (the platform), a region ("region:<code>": province, city or county) and a school
  ("school:<id>"). A school counts in its county, the county's city, the city's province and "all"
  (the chain follows School.county_code and Region.parent_code). Every figure is kept per role,
  "teacher" and "student"; ``role=None`` in the read functions adds both.
- rostered: users with role teacher or student, not disabled, counted at their CURRENT school.
- activated: of those, the ones with a space (Space.owner_id), at their CURRENT school.
  Activation rate = activated / rostered.
- new activations per day: spaces by the Asia/Shanghai day of Space.activated_dt, counted at
  Space.activated_school_id (where it happened; history does not move with a transfer), under the
  owner's role.
- active in a period (a day, an ISO week Monday–Sunday, a calendar month; Asia/Shanghai): the owner of
  a space did at least one of activity.KINDS in it. The person is counted once per period, at the
  school of their first counted action in the period: ActivityDay.school_id of their ActivityDay row
  with the smallest id in the period (rows are inserted in the order actions are recorded). Only
  teachers and students with a space count; activity recorded before the space existed counts from
  the moment the space is activated.
- lesson figures, all under role "teacher": publishing teachers = rostered teachers (current school)
  with at least one published lesson; views = view_count so far of the published lessons made at the
  unit's schools (Lesson.school_id); uploaded on a day = lessons that exist, created that Asia/Shanghai
  day at the unit's schools; published on a day = lessons published that day (Lesson.published_dt) and
  still published.

Maintenance:

- Totals are kept by a per-school recount. A session listener notes every school touched by a change
  of users (insert, delete, school_id, role, is_disabled) or spaces (insert, delete), including Core
  INSERTs through the session (the roster import writes that way); the old and the new school of a
  transfer are both noted. ``settle()`` runs before every commit (and before every read here): it
  flushes, recounts each touched school with COUNT(*) under a row lock (SELECT ... FOR UPDATE on
  PostgreSQL; SQLite transactions begin IMMEDIATE, so writers are serialised anyway), writes the new
  school figures and adds the difference to the region and "all" rows. Recounting instead of adding
  +1/-1 in each operation means no operation can forget a case, and replaying any operation changes
  nothing. Doing it once per transaction at commit (not per flush) keeps a roster import of thousands
  of rows to one recount per school and takes the row locks in one sorted order (no deadlocks).
- Lessons are recounted the same way: a change of a lesson's school, teacher, status, created_dt,
  published_dt or view_count (insert and delete too) notes the (school, day) rows it counted in before
  and after (the lesson row is read under a lock, so a concurrent change is recounted as well), its
  teacher (publishing teachers are recounted with the teacher's school) and its school (views).
- Days, weeks and months: activity.record calls ``activity_recorded``, and every inserted space
  (spaces.activate is the one place that creates them) reaches ``space_activated`` through an after_flush
  listener, in the same transaction. An ActiveMark (user, period, start) is inserted with
  ON CONFLICT DO NOTHING, and only when the insert happened is the counter incremented, so a person
  counts once per period even when two requests race. Deleting a user or a space takes their marks
  and their activation out of the counters.
- ``ground_truth()`` computes every roll-up from the base tables with COUNT(*); ``rebuild()`` (the
  ``learnspace stats rebuild-rollups`` command) replaces the roll-ups with it and is idempotent.

This package is a service: it knows the users, spaces, lessons, schools and regions tables by name only
and imports no domain package. keys: units, chains and periods; counts: the definitions as COUNT(*)
per school; upkeep: the listeners and recounts; reads: what the statistics read; truth: ground truth
and rebuild.
"""
from .keys import (
                   ALL,
                   CHINA,
                   PERIODS,
                   ROLES,
                   chains,
                   local_day,
                   next_period,
                   period_end,
                   period_start,
                   region_unit,
                   school_unit,
                   units_of_school,
                   utc_bounds,
)
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
from .truth import Rollups, ground_truth, rebuild, stored
from .upkeep import activity_recorded, settle, space_activated

__all__ = ["ALL", "CHINA", "PERIODS", "ROLES", "DayFigures", "RangeFigures", "Rollups", "Totals", "active_in",
           "active_in_periods", "activity_recorded", "add_roles", "chains", "daily", "ground_truth", "local_day", "new_activations", "next_period",
           "period_active", "period_end", "period_start", "range_figures", "rebuild", "region_unit", "role_totals", "school_unit",
           "settle", "space_activated", "stored", "totals", "units_of_school", "utc_bounds"]
