/* Map switches: areas, measure and period. Colours and tooltips come from the tables on the
   page (one per geography and period), so the map shows nothing that they do not say. */
(function () {
  "use strict";
  var configNode = document.getElementById("ss-map-config");
  if (!configNode || typeof L === "undefined") { return; }
  var cfg = JSON.parse(configNode.textContent);
  var map = window[cfg.map];
  if (!map) { return; }
  var layers = {};
  Object.keys(cfg.layers).forEach(function (id) { layers[id] = window[cfg.layers[id]]; });
  var overlay = cfg.overlay ? window[cfg.overlay] : null;
  var geoSelect = document.getElementById("ss-geo");
  var metricSelect = document.getElementById("ss-metric");
  var periodSelect = document.getElementById("ss-period");
  var priorityBox = document.getElementById("ss-priority");
  var status = document.getElementById("ss-map-status");

  function line(parent, tag, text) {
    if (!text) { return; }
    var node = document.createElement(tag);
    node.textContent = text;
    parent.appendChild(node);
  }

  function cellText(cell, cls) {
    var node = cell ? cell.querySelector("." + cls) : null;
    return node ? node.textContent : "";
  }

  function tooltipFor(name, metric, cell) {
    var box = document.createElement("div");
    line(box, "strong", name);
    line(box, "span", cfg.metrics[metric].label);
    if (!cell) {
      line(box, "span", "no data for this area and period");
      return box;
    }
    var value = cellText(cell, "v");
    var ci = cellText(cell, "ci");
    line(box, "span", value + (ci ? " (" + ci + ")" : ""));
    line(box, "span", cellText(cell, "n"));
    return box;
  }

  function rowsOf(table) {
    var rows = {};
    if (!table) { return rows; }
    Array.prototype.forEach.call(table.querySelectorAll("tbody tr"), function (tr) {
      rows[tr.getAttribute("data-code")] = tr;
    });
    return rows;
  }

  function show(selector, attribute, wanted) {
    Array.prototype.forEach.call(document.querySelectorAll(selector), function (node) {
      node.hidden = node.getAttribute(attribute) !== wanted;
    });
  }

  function update() {
    var geo = geoSelect.value;
    var metric = metricSelect.value;
    var period = periodSelect.value;
    var spec = (cfg.geos[geo] || {})[period];
    if (!spec) { return; }
    Object.keys(layers).forEach(function (id) {
      if (id === spec.layer) {
        if (!map.hasLayer(layers[id])) { layers[id].addTo(map); }
      } else if (map.hasLayer(layers[id])) {
        map.removeLayer(layers[id]);
      }
    });
    show("[data-ss-table]", "data-ss-table", spec.table);
    show("[data-ss-legend]", "data-ss-legend", metric);
    var rows = rowsOf(document.getElementById(spec.table));
    var colours = cfg.metrics[metric].colours;
    layers[spec.layer].eachLayer(function (path) {
      var code = path.feature.properties.code;
      var tr = rows[code];
      var cell = tr ? tr.querySelector('td[data-m="' + metric + '"]') : null;
      var cls = cell ? cell.getAttribute("data-c") : "";
      var withheld = cls === "" || cls === null;
      path.setStyle({
        fillColor: withheld ? cfg.hatch : colours[Number(cls)],
        fillOpacity: withheld ? 1 : 0.85,
        color: "#333333",
        weight: 1
      });
      var nameNode = tr ? tr.querySelector("th") : null;
      var name = nameNode ? nameNode.textContent : code;
      path.unbindTooltip();
      path.bindTooltip(function () { return tooltipFor(name, metric, cell); },
        { sticky: true, className: "ss-tip" });
      var element = path.getElement();
      if (element) {
        element.setAttribute("tabindex", "0");
        element.setAttribute("role", "img");
        var value = cell ? cellText(cell, "v") : "no data";
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
    if (status) {
      var label = cfg.metrics[metric].label;  // lower-case its first letter only: "Black"
      status.textContent = "Showing " + label.charAt(0).toLowerCase() + label.slice(1) + " for " +
        cfg.kinds[geo].toLowerCase() + ", " + cfg.periods[period] + ".";
    }
  }

  if (overlay) {
    var priorityRows = rowsOf(document.getElementById("t-priority"));
    overlay.eachLayer(function (path) {
      var tr = priorityRows[path.feature.properties.code];
      var cells = tr ? tr.querySelectorAll("td") : [];
      path.bindTooltip(function () {
        var box = document.createElement("div");
        line(box, "strong", tr ? tr.querySelector("th").textContent : "Priority area");
        line(box, "span", "Priority area");
        if (cells.length === 2) {
          line(box, "span", "Designated " + cells[0].textContent + " to " + cells[1].textContent);
        }
        return box;
      }, { sticky: true, className: "ss-tip" });
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
