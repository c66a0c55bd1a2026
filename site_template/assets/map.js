/* The map: loaded when it comes near the screen (or a control is used), so that the page
   itself is quick to show. Leaflet, the boundaries (map-data/*.geojson) and the figures
   (map-data/t-*.json, the same figures as the table pages) are fetched then; each geography
   and period is fetched once, when first chosen. The map shows nothing that its table does
   not say. */
(function () {
  "use strict";
  var configNode = document.getElementById("ss-map-config");
  if (!configNode) { return; }
  var cfg = JSON.parse(configNode.textContent);
  var frame = document.querySelector(".map-frame");
  var geoSelect = document.getElementById("ss-geo");
  var metricSelect = document.getElementById("ss-metric");
  var periodSelect = document.getElementById("ss-period");
  var priorityBox = document.getElementById("ss-priority");
  var status = document.getElementById("ss-map-status");
  var map = null;
  var started = false;
  var loaded = {};   // url -> promise of its JSON
  var layers = {};   // layer id -> L.GeoJSON
  var overlay = null;
  var current = null;  // {table, metric}: what the areas are coloured by
  var request = 0;

  function fetchJSON(url) {
    if (!loaded[url]) {
      loaded[url] = fetch(url).then(function (response) {
        if (!response.ok) { throw new Error(url + ": " + response.status); }
        return response.json();
      });
    }
    return loaded[url];
  }

  function loadScripts(urls, done) {
    if (!urls.length) { done(); return; }
    var script = document.createElement("script");
    script.src = urls[0];
    script.onload = function () { loadScripts(urls.slice(1), done); };
    script.onerror = function () { fail(new Error(urls[0] + " did not load")); };
    document.body.appendChild(script);
  }

  function fail(error) {
    if (status) {
      status.textContent = "The map could not load its data (" + error.message +
        "); the table pages give every figure.";
    }
  }

  function line(parent, tag, text) {
    if (!text) { return; }
    var node = document.createElement(tag);
    node.textContent = text;
    parent.appendChild(node);
  }

  function cellOf(code) {
    var row = current ? current.table.rows[code] : null;
    return { name: row ? row[0] : code, cell: row ? row[1][current.metric] : null };
  }

  function tooltipFor(code) {
    var found = cellOf(code);
    var cell = found.cell;
    var box = document.createElement("div");
    line(box, "strong", found.name);
    line(box, "span", cfg.metrics[current.metric].label);
    if (!cell) {
      line(box, "span", "no data for this area and period");
      return box;
    }
    line(box, "span", cell[1] + (cell[2] ? " (" + cell[2] + ")" : ""));
    if (cell[4]) { line(box, "span", "Imprecise: the interval is wide"); }
    line(box, "span", cell[3]);
    return box;
  }

  function styleOf(feature) {
    var cell = cellOf(feature.properties.code).cell;
    var withheld = !cell || cell[0] === "";
    return {
      fillColor: withheld ? cfg.hatch : cfg.metrics[current.metric].colours[Number(cell[0])],
      fillOpacity: withheld ? 1 : (cell[4] ? 0.4 : 0.85),
      color: "#333333",
      weight: 1
    };
  }

  function boundaries(id) {
    var spec = cfg.layers[id];
    return fetchJSON(spec.url).then(function (data) {
      if (!layers[id]) {
        layers[id] = { layer: null, features: data.features, kind: spec.kind };
      }
      return layers[id];
    });
  }

  /* The areas are added a few at a time, each batch in its own task, so that a phone stays
     responsive while a few hundred polygons are drawn. */
  function addInBatches(entry, done) {
    var layer = L.geoJSON(null, {
      className: "ss-area ss-" + entry.kind,
      style: styleOf,
    });
    /* One tooltip for the whole layer (cheaper than one per area on a phone). */
    layer.on("mouseover mousemove", function (event) {
      openTip(event.layer, event.latlng);
    });
    layer.on("mouseout", closeTip);
    entry.layer = layer;
    layer.addTo(map);
    var index = 0;
    (function batch() {
      var end = Math.min(index + 20, entry.features.length);
      var before = layer.getLayers().length;
      layer.addData(entry.features.slice(index, end));
      layer.getLayers().slice(before).forEach(label);
      index = end;
      if (index < entry.features.length) { setTimeout(batch, 0); } else { done(); }
    })();
  }

  function priority() {
    if (!cfg.overlay) { return Promise.resolve(null); }
    return fetchJSON(cfg.overlay).then(function (data) {
      if (!overlay) {
        overlay = L.geoJSON(data, {
          className: "ss-priority",
          style: { color: "#1b1b1b", weight: 3, dashArray: "8 5", fill: false }
        });
        overlay.eachLayer(function (path) {
          var p = path.feature.properties;
          path.bindTooltip(function () {
            var box = document.createElement("div");
            line(box, "strong", p.name);
            line(box, "span", "Priority area");
            line(box, "span", "Designated " + p.from + " to " + p.to);
            return box;
          }, { sticky: true, className: "ss-tip" });
        });
        window.ssPriority = overlay;
      }
      return overlay;
    });
  }

  var tip = null;

  function openTip(path, latlng) {
    if (!tip) { tip = L.tooltip({ className: "ss-tip", direction: "auto", offset: [12, 0] }); }
    tip.setContent(tooltipFor(path.feature.properties.code)).setLatLng(latlng);
    if (!map.hasLayer(tip)) { tip.addTo(map); }
  }

  function closeTip() {
    if (tip && map.hasLayer(tip)) { map.removeLayer(tip); }
  }

  function label(path) {
    var element = path.getElement();
    if (!element) { return; }
    var found = cellOf(path.feature.properties.code);
    var cell = found.cell;
    element.setAttribute("aria-label", found.name + ": " +
      (cell ? cell[1] + (cell[4] ? ", imprecise" : "") : "no data"));
    if (!element.ssFocusBound) {
      element.ssFocusBound = true;
      element.setAttribute("tabindex", "0");
      element.setAttribute("role", "img");
      element.setAttribute("data-code", path.feature.properties.code);
      element.addEventListener("focus", function () { openTip(path, path.getCenter()); });
      element.addEventListener("blur", closeTip);
    }
  }

  function draw(spec, entry, table, geo, metric, period) {
    current = { table: table, metric: metric };
    Object.keys(layers).forEach(function (id) {
      var other = layers[id].layer;
      if (id !== spec.layer && other && map.hasLayer(other)) { map.removeLayer(other); }
    });
    if (!entry.layer) {
      var token = request;
      addInBatches(entry, function () {
        window["ssLayer_" + spec.layer.replace(/[^A-Za-z0-9]/g, "_")] = entry.layer;
        if (token === request) { finish(geo, metric, period); }
      });
      return;
    }
    if (!map.hasLayer(entry.layer)) { entry.layer.addTo(map); }
    entry.layer.setStyle(styleOf);
    entry.layer.eachLayer(label);
    finish(geo, metric, period);
  }

  function finish(geo, metric, period) {
    if (overlay) {
      var wanted = !priorityBox || priorityBox.checked;
      if (wanted && !map.hasLayer(overlay)) { overlay.addTo(map); }
      if (!wanted && map.hasLayer(overlay)) { map.removeLayer(overlay); }
      if (wanted) { overlay.bringToFront(); }
    }
    if (status) {
      var text = cfg.metrics[metric].label;  // lower-case its first letter only: "Black"
      status.textContent = "Showing " + text.charAt(0).toLowerCase() + text.slice(1) + " for " +
        cfg.kinds[geo].toLowerCase() + ", " + cfg.periods[period] + ".";
      status.setAttribute("data-state", [geo, metric, period].join("|"));
    }
  }

  function update() {
    var geo = geoSelect.value;
    var metric = metricSelect.value;
    var period = periodSelect.value;
    var spec = (cfg.geos[geo] || {})[period];
    if (!spec) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("[data-ss-legend]"), function (node) {
      node.hidden = node.getAttribute("data-ss-legend") !== metric;
    });
    var info = cfg.tables[spec.table];
    Array.prototype.forEach.call(document.querySelectorAll("[data-ss-table-link]"), function (a) {
      a.href = info.page;
      a.textContent = "table of " + info.title.charAt(0).toLowerCase() + info.title.slice(1);
    });
    if (!map) { start(); return; }
    var mine = ++request;
    Promise.all([boundaries(spec.layer), fetchJSON(info.data), priority()])
      .then(function (parts) {
        if (mine === request) { draw(spec, parts[0], parts[1], geo, metric, period); }
      })
      .catch(fail);
  }

  function start() {
    if (started) { return; }
    started = true;
    loadScripts(cfg.scripts, function () {
      if (typeof L === "undefined" || !window.ssMapInit) { return; }
      map = window.ssMapInit();
      update();
    });
  }

  [geoSelect, metricSelect, periodSelect, priorityBox].forEach(function (node) {
    if (node) { node.addEventListener("change", update); }
  });
  document.getElementById("ss-map-controls").addEventListener("submit", function (event) {
    event.preventDefault();
  });
  if (frame && "IntersectionObserver" in window) {
    var watcher = new IntersectionObserver(function (entries) {
      if (entries.some(function (e) { return e.isIntersecting; })) {
        watcher.disconnect();
        start();
      }
    }, { rootMargin: "200px" });
    watcher.observe(frame);
  } else {
    start();
  }
})();
