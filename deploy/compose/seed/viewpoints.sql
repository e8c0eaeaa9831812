-- The viewpoint catalogue of the compose stack's sample batch (the same product viewpoints as `batchline demo`).
-- Safe to run on every `docker compose up`.
INSERT INTO wl_spec_vps (id, name) VALUES
  (101, 'battery life'),
  (102, 'screen brightness'),
  (103, 'build quality'),
  (104, 'sound clarity'),
  (105, 'camera sharpness'),
  (106, 'delivery speed'),
  (107, 'packaging condition'),
  (108, 'value for money')
ON CONFLICT (id) DO NOTHING;
