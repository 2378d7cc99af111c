-- +goose Up
-- symbol_names holds a few thousand counter rows that every upload
-- updates (moveSymbols): about a thousand row versions per package. Pruning
-- on the page keeps most of them in place, but the updates that do not fit
-- there go where the free space map says there is room, and only VACUUM
-- fills that map in: with the default thresholds (20 % of the rows dead)
-- a fill's few vacuums left the table ~90 % empty space. Vacuuming it at
-- every autovacuum round with dead rows, without the cost delay (it is
-- small), lets those updates reuse the pruned space.
ALTER TABLE symbol_names SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 500,
    autovacuum_vacuum_cost_delay = 0);

-- +goose Down
ALTER TABLE symbol_names RESET (autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold, autovacuum_vacuum_cost_delay);
