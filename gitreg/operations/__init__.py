"""One module per thing users do, named as the command is: lifecycle moves
(promote, demote, unassign, rollback, archive, deprecate), deploy, monitor,
gc, doctor and sync, tags sync, export and import, diff, history, lineage,
compare, upgrade, adopt (init --adopt) and the demo."""
