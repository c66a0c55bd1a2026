-- Per boundary layer that searches are placed in: the located searches in its scope (its force,
-- its dates) and how many of them lie in no area of its kind. A layer in the wrong CRS, or with
-- longitude and latitude swapped, places (almost) none.
SELECT l.layer_id,
       l.kind,
       count(*) AS located,
       count(*) FILTER (
           WHERE CASE l.kind
                     WHEN 'ward' THEN a.ward_code
                     WHEN 'neighbourhood' THEN a.neighbourhood_code
                     WHEN 'small_area' THEN a.small_area_code
                     ELSE a.la_code
                 END IS NULL
       ) AS unplaced
FROM boundary_layers AS l
JOIN search_areas AS a
  ON (l.force IS NULL OR a.force = l.force)
 AND (l.valid_from IS NULL OR a.on_date >= l.valid_from)
 AND (l.valid_to IS NULL OR a.on_date <= l.valid_to)
WHERE l.kind IN ('ward', 'neighbourhood', 'small_area', 'local_authority')
GROUP BY l.layer_id, l.kind
ORDER BY l.layer_id;
