-- Which inputs produced the metrics of each period ("unit": a year, a month outside the latest
-- 12 months, or the latest 12 months with their months). A unit whose digest is unchanged is
-- reused as it is, so the nightly run recomputes only the periods a new month touches.
CREATE TABLE metrics_units (
    unit    VARCHAR PRIMARY KEY,
    digest  VARCHAR NOT NULL
);
