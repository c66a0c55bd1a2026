-- Insert one file's normalised records (the Arrow table `records`). search_id is unique because
-- load ids are never reused and a line number is below 10,000,000.
INSERT INTO searches BY NAME
SELECT
    $load_id::BIGINT * 10000000 + source_line AS search_id,
    $load_id AS load_id,
    $force AS force,
    $month AS month,
    $source_file AS source_file,
    *
FROM records;
