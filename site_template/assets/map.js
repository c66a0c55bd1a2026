/* Map switches: areas, measure and period. The boundaries (map-data/*.geojson) and the figures
   (map-data/t-*.json, the same figures as the table pages) are fetched when first shown, so the
   page itself stays small; the map shows nothing that its table does not say. */
(function () {
  "use strict";
  var configNode = document.getElementById("ss-map-config");
  if (!configNode || typeof L === "undefined") { return; }
  var cfg = JSON.parse(configNode.textContent);
  var map = window[cfg.map];
  if (!map) { return; }
  var loaded = {};   // url -> promise of its JSON
  var layers = {};   // layer id -> L.GeoJSON
  var overlay = null;
  var geoSelect = document.getElementById("ss-geo");
  var metricSelect = document.getElementById("ss-metric");
  var periodSelect = document.getElementById("ss-period");
  var priorityBox = document.getElementById("ss-priority");
  var status = document.getElementById("ss-map-status");
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

  function line(parent, tag, text) {
    if (!text) { return; }
    var node = document.createElement(tag);
    node.textContent = text;
    parent.appendChild(node);
  }

  function tooltipFor(name, metric, cell) {
    var box = document.createElement("div");
    line(box, "strong", name);
    line(box, "span", cfg.metrics[metric].label);
    if (!cell) {
      line(box, "span", "no data for this area and period");
      return box;
    }
    line(box, "span", cell[1] + (cell[2] ? " (" + cell[2] + ")" : ""));
    if (cell[4]) { line(box, "span", "Imprecise: the interval is wide"); }
    line(box, "span", cell[3]);
    return box;
  }

  function boundaries(id) {
    var spec = cfg.layers[id];
    return fetchJSON(spec.url).then(function (data) {
      if (!layers[id]) {
        layers[id] = L.geoJSON(data, {
          className: "ss-area ss-" + spec.kind,
          style: { color: "#333333", weight: 1, fillOpacity: 0.85 }
        });
        window["ssLayer_" + id.replace(/[^A-Za-z0-9]/g, "_")] = layers[id];
      }
      return layers[id];
    });
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

  function show(selector, attribute, wanted) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), function (node) {
      node.hidden = node.getAttribute(attribute) !== wanted;
    });
  }

  function draw(spec, layer, table, geo, metric, period) {
    Object.keys(layers).forEach(function (id) {
      if (id !== spec.layer && map.hasLayer(layers[id])) { map.removeLayer(layers[id]); }
    });
    if (!map.hasLayer(layer)) { layer.addTo(map); }
    var colours = cfg.metrics[metric].colours;
    layer.eachLayer(function (path) {
      var code = path.feature.properties.code;
      var row = table.rows[code];
      var cell = row ? row[1][metric] : null;
      var cls = cell ? cell[0] : "";
      var withheld = cls === "";
      path.setStyle({
        fillColor: withheld ? cfg.hatch : colours[Number(cls)],
        fillOpacity: withheld ? 1 : (cell[4] ? 0.4 : 0.85),
        color: "#333333",
        weight: 1
      });
      var name = row ? row[0] : code;
      path.unbindTooltip();
      path.bindTooltip(function () { return tooltipFor(name, metric, cell); },
        { sticky: true, className: "ss-tip" });
      var element = path.getElement();
      if (element) {
        element.setAttribute("tabindex", "0");
        element.setAttribute("role", "img");
        var value = cell ? cell[1] + (cell[4] ? ", imprecise" : "") : "no data";
        element.setAttribute("aria-label", name + ": " + value);
        element.setAttribute("data-code", code);
        if (!element.ssFocusBound) {
          element.ssFocusBound = true;
          element.addEventListener("focus", function () { path.openTooltip(path.getCenter()); });
          element.addEventListener("blur", function () { path.closeTooltip(); });
        }
      }
    });
    if (overlay) {
      var wanted = !priorityBox || priorityBox.checked;
      if (wanted && !map.hasLayer(overlay)) { overlay.addTo(map); }
      if (!wanted && map.hasLayer(overlay)) { map.removeLayer(overlay); }
      if (wanted) { overlay.bringToFront(); }
    }
    var info = cfg.tables[spec.table];
    Array.prototype.forEach.call(document.querySelectorAll("[data-ss-table-link]"), function (a) {
      a.href = info.page;
      a.textContent = "table of " + info.title.charAt(0).toLowerCase() + info.title.slice(1);
    });
    if (status) {
      var label = cfg.metrics[metric].label;  // lower-case its first letter only: "Black"
      status.textContent = "Showing " + label.charAt(0).toLowerCase() + label.slice(1) + " for " +
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
    show("[data-ss-legend]", "data-ss-legend", metric);
    var mine = ++request;
    Promise.all([boundaries(spec.layer), fetchJSON(cfg.tables[spec.table].data), priority()])
      .then(function (parts) {
        if (mine === request) { draw(spec, parts[0], parts[1], geo, metric, period); }
      })
      .catch(function (error) {
        if (status) {
          status.textContent = "The map could not load its data (" + error.message +
            "); the table pages give every figure.";
        }
      });
  }

  [geoSelect, metricSelect, periodSelect, priorityBox].forEach(function (node) {
    if (node) { node.addEventListener("change", update); }
  });
  document.getElementById("ss-map-controls").addEventListener("submit", function (event) {
    event.preventDefault();
  });
  update();
})();
