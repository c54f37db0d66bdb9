"""The blocked-word list (网络负面用语清单) and the check every user-written text goes through."""
