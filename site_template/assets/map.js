/* The map: loaded when it comes near the screen (or a control is used, or the address asks for
   a view), so that the page itself is quick to show. Leaflet, the boundaries
   (map-data/*.geojson) and the figures (map-data/t-*.json, the same figures as the table pages)
   are fetched then; each geography and period is fetched once, when first chosen. The map shows
   nothing that its table does not say.

   Councils are outlined and labelled over wards and neighbourhoods; the areas' own names appear
   when zoomed in. A click, a tap or Enter opens an area's popup (its main figures and a link to
   its page). The geography, measure, period and selected area live in the address
   (#geo=ward&measure=search_rate&period=latest-12&area=CODE), so a view can be shared. The map
   is one stop in the Tab order: the arrow keys move from area to area (a live region says each
   one's name and value), + and - zoom, Escape closes the popup. */
(function () {
  "use strict";
  var configNode = document.getElementById("ss-map-config");
  if (!configNode) { return; }
  var cfg = JSON.parse(configNode.textContent);
  var frame = document.querySelector(".map-frame");
  var section = document.querySelector(".map-section");
  var geoSelect = document.getElementById("ss-geo");
  var metricSelect = document.getElementById("ss-metric");
  var periodSelect = document.getElementById("ss-period");
  var priorityBox = document.getElementById("ss-priority");
  var status = document.getElementById("ss-map-status");
  var announcer = document.getElementById("ss-map-announce");
  var LABEL_ZOOM = 1;  // area names appear this many zoom levels in from the first view
  var map = null;
  var started = false;
  var loaded = {};   // url -> promise of its JSON
  var layers = {};   // layer id -> {layer, features, kind, paths: code -> path, labels}
  var overlay = null;
  var councils = null;  // {id, outline, labels}
  var current = null;  // {table, metric, geo, period, entry}: what the areas show
  var request = 0;
  var baseZoom = null;
  var selected = null;   // code of the selected area (its popup is open)
  var focusCode = null;  // the one area in the Tab order
  var pending = null;    // {code, zoom, focus, href}: a selection waiting for its layer
  var shared = false;    // the address follows the view once the view has been chosen
  var popup = null;      // the open popup (of the selected area)

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

  function line(parent, tag, text, className) {
    if (!text) { return null; }
    var node = document.createElement(tag);
    node.textContent = text;
    if (className) { node.className = className; }
    parent.appendChild(node);
    return node;
  }

  function rowOf(code) {
    return current ? current.table.rows[code] : null;
  }

  function cellOf(code) {
    var row = rowOf(code);
    return { name: row ? row[0] : code, cell: row ? row[1][current.metric] : null };
  }

  function valueText(cell) {
    if (!cell) { return "no data for this area and period"; }
    return cell[1] + (cell[2] ? " (" + cell[2] + ")" : "") + (cell[4] ? ", imprecise" : "");
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

  /* The popup: the area's searches and every map figure of the period, each as the table
     gives it, and a link to the area's page. */
  function popupFor(code) {
    var row = rowOf(code);
    var box = document.createElement("div");
    box.className = "ss-popup";
    var title = document.createElement("p");
    line(title, "strong", row[0]);
    box.appendChild(title);
    line(box, "p", (cfg.kind[current.geo] || "") + ", " + cfg.periods[current.period]);
    var list = document.createElement("dl");
    function item(label, value, ci) {
      line(list, "dt", label);
      var dd = document.createElement("dd");
      dd.setAttribute("data-ss-figure", label);
      line(dd, "span", value, "v");
      if (ci) { line(dd, "span", ci, "ci"); }
      list.appendChild(dd);
    }
    item("Searches", row[2], "");
    Array.prototype.forEach.call(metricSelect.options, function (option) {
      var id = option.value;
      var cell = row[1][id];
      if (!cell) { return; }
      item(cfg.metrics[id].short, cell[1] + (cell[4] ? " (imprecise)" : ""), cell[2]);
    });
    box.appendChild(list);
    var link = document.createElement("a");
    link.href = row[3];
    link.textContent = "Open the page for " + row[0];
    var p = document.createElement("p");
    p.appendChild(link);
    box.appendChild(p);
    return box;
  }

  function styleOf(feature) {
    var code = feature.properties.code;
    var cell = cellOf(code).cell;
    var withheld = !cell || cell[0] === "";
    var chosen = code === selected;
    return {
      fillColor: withheld ? cfg.hatch : cfg.metrics[current.metric].colours[Number(cell[0])],
      fillOpacity: withheld ? 1 : (cell[4] ? 0.4 : 0.85),
      color: chosen ? "#000000" : "#333333",
      weight: chosen ? 4 : 1
    };
  }

  function boundaries(id) {
    var spec = cfg.layers[id];
    return fetchJSON(spec.url).then(function (data) {
      if (!layers[id]) {
        layers[id] = { layer: null, features: data.features, kind: spec.kind, paths: {},
                       labels: {} };
      }
      return layers[id];
    });
  }

  function say(text) {
    if (announcer) { announcer.textContent = text; }
  }

  /* A name on the map: a text marker that screen readers skip (the areas carry their names),
     centred on the area's label point, neither clickable nor in the Tab order. */
  function makeLabel(feature, className) {
    var text = document.createElement("span");
    text.textContent = feature.properties.name;
    var marker = L.marker(feature.properties.lp, {
      icon: L.divIcon({ className: "ss-label " + className, html: text, iconSize: [0, 0] }),
      interactive: false,
      keyboard: false
    });
    marker.on("add", function () {
      var element = marker.getElement();
      if (element) { element.setAttribute("aria-hidden", "true"); }
    });
    return marker;
  }

  function closeIn() {
    return map.getZoom() >= baseZoom + LABEL_ZOOM;
  }

  /* Council names at the first view; the shown areas' names (those in view) closer in. */
  function updateLabels() {
    if (!map || !current) { return; }
    var near = closeIn();
    if (councils) {
      if (near && map.hasLayer(councils.labels)) { map.removeLayer(councils.labels); }
      if (!near && !map.hasLayer(councils.labels)) { councils.labels.addTo(map); }
    }
    var entry = current.entry;
    var always = current.geo === "local_authority";
    var view = map.getBounds().pad(0.1);
    Object.keys(layers).forEach(function (id) {
      var other = layers[id];
      var shown = other === entry && (near || always);
      other.features.forEach(function (feature) {
        var code = feature.properties.code;
        var label = other.labels[code];
        var wanted = shown && feature.properties.lp && view.contains(feature.properties.lp);
        if (wanted && !label) {
          label = other.labels[code] = makeLabel(feature, "ss-label-" + other.kind);
        }
        if (!label) { return; }
        if (wanted && !map.hasLayer(label)) { label.addTo(map); }
        if (!wanted && map.hasLayer(label)) { map.removeLayer(label); }
      });
    });
  }

  function drawCouncils(geo, period) {
    var spec = (cfg.geos.local_authority || {})[period];
    var id = geo !== "local_authority" && spec ? spec.layer : null;
    if (councils && councils.id !== id) {
      map.removeLayer(councils.outline);
      if (map.hasLayer(councils.labels)) { map.removeLayer(councils.labels); }
      councils = null;
    }
    if (!id || councils) { return Promise.resolve(null); }
    return boundaries(id).then(function (entry) {
      if (councils) { return null; }
      councils = {
        id: id,
        outline: L.geoJSON(entry.features, {
          interactive: false,
          className: "ss-council",
          style: { color: "#1b1b1b", weight: 3, fill: false }
        }),
        labels: L.layerGroup(entry.features.filter(function (f) { return f.properties.lp; })
          .map(function (f) { return makeLabel(f, "ss-label-council"); }))
      };
      councils.outline.addTo(map);
      return null;
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
    layer.on("click", function (event) {
      closeTip();
      shared = true;
      select(event.layer.feature.properties.code, {});
    });
    entry.layer = layer;
    layer.addTo(map);
    var index = 0;
    (function batch() {
      var end = Math.min(index + 20, entry.features.length);
      var before = layer.getLayers().length;
      layer.addData(entry.features.slice(index, end));
      layer.getLayers().slice(before).forEach(function (path) {
        entry.paths[path.feature.properties.code] = path;
        label(path);
      });
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

  function pointOf(path) {
    var lp = path.feature.properties.lp;
    return lp ? L.latLng(lp[0], lp[1]) : path.getCenter();
  }

  function label(path) {
    var element = path.getElement();
    if (!element) { return; }
    var code = path.feature.properties.code;
    var found = cellOf(code);
    element.setAttribute("aria-label", found.name + ": " + valueText(found.cell));
    element.setAttribute("tabindex", code === focusCode ? "0" : "-1");
    element.setAttribute("data-selected", code === selected ? "true" : "false");
    if (!element.ssFocusBound) {
      element.ssFocusBound = true;
      element.setAttribute("role", "img");
      element.setAttribute("aria-describedby", "ss-map-keys");
      element.setAttribute("data-code", code);
      element.addEventListener("focus", function () {
        setFocus(code);
        openTip(path, pointOf(path));
      });
      element.addEventListener("blur", closeTip);
    }
  }

  /* Roving focus: only one area is in the Tab order, so Tab crosses the map in one step. */
  function setFocus(code) {
    if (!current || focusCode === code) { return; }
    var paths = current.entry.paths;
    var before = focusCode && paths[focusCode] && paths[focusCode].getElement();
    if (before) { before.setAttribute("tabindex", "-1"); }
    focusCode = code;
    var now = paths[code] && paths[code].getElement();
    if (now) { now.setAttribute("tabindex", "0"); }
  }

  function firstByName(entry) {
    var codes = Object.keys(entry.paths).filter(function (c) { return rowOf(c); });
    codes.sort(function (a, b) {
      var x = rowOf(a)[0], y = rowOf(b)[0];
      return x < y ? -1 : x > y ? 1 : (a < b ? -1 : 1);
    });
    return codes[0] || null;
  }

  /* The nearest area in the direction of an arrow key (by label points on the screen). */
  function neighbour(code, dx, dy) {
    var paths = current.entry.paths;
    var from = map.latLngToContainerPoint(pointOf(paths[code]));
    var best = null;
    var bestScore = Infinity;
    Object.keys(paths).forEach(function (other) {
      if (other === code) { return; }
      var to = map.latLngToContainerPoint(pointOf(paths[other]));
      var along = (to.x - from.x) * dx + (to.y - from.y) * dy;
      if (along <= 0) { return; }
      var across = Math.abs((to.x - from.x) * dy - (to.y - from.y) * dx);
      var score = along + 2 * across;
      if (score < bestScore || (score === bestScore && other < best)) {
        best = other;
        bestScore = score;
      }
    });
    return best;
  }

  function announce(code) {
    var found = cellOf(code);
    say(found.name + ": " + cfg.metrics[current.metric].short + " " + valueText(found.cell) + ".");
  }

  function moveTo(code) {
    var path = current.entry.paths[code];
    if (!path) { return; }
    setFocus(code);
    var point = pointOf(path);
    if (!map.getBounds().contains(point)) { map.panTo(point); }
    var element = path.getElement();
    if (element) { element.focus({ preventScroll: true }); }
    announce(code);
  }

  var ARROWS = {
    ArrowRight: [1, 0, "east"], ArrowLeft: [-1, 0, "west"],
    ArrowUp: [0, -1, "north"], ArrowDown: [0, 1, "south"]
  };

  function onKey(event) {
    var target = event.target;
    var code = target && target.getAttribute ? target.getAttribute("data-code") : null;
    if (!code || !current || !current.entry.paths[code]) { return; }
    if (event.altKey || event.ctrlKey || event.metaKey) { return; }
    var arrow = ARROWS[event.key];
    if (arrow) {
      event.preventDefault();
      var next = neighbour(code, arrow[0], arrow[1]);
      if (next) { moveTo(next); } else { say("No area further " + arrow[2] + "."); }
    } else if (event.key === "Enter" || event.key === " ") {
      event.preventDefault();
      shared = true;
      select(code, {});
      announce(code);
    } else if (event.key === "Escape") {
      if (selected) { event.preventDefault(); map.closePopup(); }
    } else if (event.key === "+" || event.key === "=" || event.key === "-" ||
               event.key === "_") {
      event.preventDefault();  // zoom about the focused area
      var step = event.key === "+" || event.key === "=" ? 1 : -1;
      map.setZoomAround(pointOf(current.entry.paths[code]), map.getZoom() + step);
    }
  }

  function openPopup(code) {
    var path = current.entry.paths[code];
    popup = L.popup({ className: "ss-popup-wrap", maxWidth: 300, autoPanPadding: [20, 20] })
      .setLatLng(pointOf(path))
      .setContent(popupFor(code));
    popup.openOn(map);
  }

  /* Select an area of the drawn layer: outline it, open its popup, maybe zoom to it. */
  function select(code, options) {
    var path = current && current.entry.paths[code];
    if (!path || !rowOf(code)) { return false; }
    var element = path.getElement();
    var focused = element && document.activeElement === element;
    selected = code;
    setFocus(code);
    current.entry.layer.setStyle(styleOf);
    current.entry.layer.eachLayer(label);
    path.bringToFront();  // (moving the element in the page takes its focus away)
    if (overlay && map.hasLayer(overlay)) { overlay.bringToFront(); }
    if (councils) { councils.outline.bringToFront(); }
    if (options.zoom) {
      map.fitBounds(path.getBounds(), { maxZoom: baseZoom + 3, padding: [30, 30] });
    }
    openPopup(code);
    if (element && (options.focus || focused)) { element.focus({ preventScroll: true }); }
    writeAddress();
    return true;
  }

  function unselect() {
    if (!selected) { return; }
    selected = null;
    if (current) {
      current.entry.layer.setStyle(styleOf);
      current.entry.layer.eachLayer(label);
    }
    writeAddress();
  }

  function draw(spec, entry, table, geo, metric, period) {
    current = { table: table, metric: metric, geo: geo, period: period, entry: entry };
    Object.keys(layers).forEach(function (id) {
      var other = layers[id].layer;
      if (id !== spec.layer && other && map.hasLayer(other)) { map.removeLayer(other); }
    });
    if (selected && (!entry.features.some(function (f) {
      return f.properties.code === selected;
    }) || !table.rows[selected])) {
      selected = null;
      map.closePopup();
    }
    if (!focusCode || !table.rows[focusCode] || !entry.paths[focusCode]) { focusCode = null; }
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
    var entry = current.entry;
    if (!focusCode) {
      focusCode = firstByName(entry);
      entry.layer.eachLayer(label);
    }
    if (councils) { councils.outline.bringToFront(); }
    if (overlay) {
      var wanted = !priorityBox || priorityBox.checked;
      if (wanted && !map.hasLayer(overlay)) { overlay.addTo(map); }
      if (!wanted && map.hasLayer(overlay)) { map.removeLayer(overlay); }
      if (wanted) { overlay.bringToFront(); }
      overlay.eachLayer(function (path) {  // outlines for the pointer; the table lists them
        var element = path.getElement();
        if (element) { element.setAttribute("tabindex", "-1"); }
      });
    }
    if (selected) {
      current.entry.paths[selected].bringToFront();
      openPopup(selected);
    }
    updateLabels();
    quietControls();
    if (pending) {
      var wish = pending;
      pending = null;
      if (!select(wish.code, wish) && wish.href) { window.location.href = wish.href; }
    }
    if (status) {
      var text = cfg.metrics[metric].label;  // lower-case its first letter only: "Black"
      status.textContent = "Showing " + text.charAt(0).toLowerCase() + text.slice(1) + " for " +
        cfg.kinds[geo].toLowerCase() + ", " + cfg.periods[period] + ".";
      status.setAttribute("data-state", [geo, metric, period].join("|"));
    }
  }

  /* Leaflet's own buttons and links stay usable by pointer but leave the Tab order (+ and -
     zoom from the keyboard), so that the map is one Tab stop. */
  function quietControls() {
    var container = map.getContainer();
    container.setAttribute("tabindex", "-1");
    Array.prototype.forEach.call(
      container.querySelectorAll(".leaflet-control a, .leaflet-control button"),
      function (control) { control.setAttribute("tabindex", "-1"); }
    );
  }

  function hasOption(select, value) {
    return Array.prototype.some.call(select.options, function (o) { return o.value === value; });
  }

  /* #geo=ward&measure=search_rate&period=latest-12&area=CODE (other fragments, such as the
     skip links' #main, are left alone). */
  function readAddress() {
    var text = window.location.hash.replace(/^#/, "");
    if (text.indexOf("=") < 0) { return null; }
    var out = {};
    text.split("&").forEach(function (part) {
      var at = part.indexOf("=");
      if (at > 0) {
        try {
          out[decodeURIComponent(part.slice(0, at))] = decodeURIComponent(part.slice(at + 1));
        } catch (error) { /* a malformed part is ignored */ }
      }
    });
    return out;
  }

  function applyAddress() {
    var wanted = readAddress();
    if (!wanted) { return false; }
    if (wanted.geo && hasOption(geoSelect, wanted.geo)) { geoSelect.value = wanted.geo; }
    if (wanted.measure && hasOption(metricSelect, wanted.measure)) {
      metricSelect.value = wanted.measure;
    }
    if (wanted.period && hasOption(periodSelect, wanted.period)) {
      periodSelect.value = wanted.period;
    }
    pending = wanted.area ? { code: wanted.area, zoom: true } : null;
    if (!wanted.area) { selected = null; }
    shared = true;
    return true;
  }

  function writeAddress() {
    if (!shared || !window.history || !history.replaceState) { return; }
    var parts = [
      "geo=" + encodeURIComponent(geoSelect.value),
      "measure=" + encodeURIComponent(metricSelect.value),
      "period=" + encodeURIComponent(periodSelect.value)
    ];
    if (selected) { parts.push("area=" + encodeURIComponent(selected)); }
    var hash = "#" + parts.join("&");
    if (window.location.hash !== hash) { history.replaceState(null, "", hash); }
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
    writeAddress();
    if (!map) { start(); return; }
    var mine = ++request;
    Promise.all([boundaries(spec.layer), fetchJSON(info.data), priority(),
                 drawCouncils(geo, period)])
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
      if (map.keyboard) { map.keyboard.disable(); }
      baseZoom = map.getZoom();
      map.on("zoomend moveend", updateLabels);
      map.on("popupclose", function (event) {
        if (event.popup === popup) {  // not one replaced by the next selection's
          popup = null;
          unselect();
        }
      });
      map.getContainer().addEventListener("keydown", onKey);
      quietControls();
      update();
    });
  }

  /* The search box of the map page selects and zooms to an area instead of opening its page
     (search.js calls this); an area not on the map for the period opens its page. */
  if (section && section.hasAttribute("data-search-selects")) {
    window.ssMapSelect = function (kind, code, href) {
      if (!cfg.geos[kind]) { return false; }
      shared = true;
      pending = { code: code, zoom: true, focus: true, href: href };
      if (frame && frame.scrollIntoView) { frame.scrollIntoView({ block: "center" }); }
      if (geoSelect.value !== kind) {
        geoSelect.value = kind;
      } else if (map && current && current.geo === kind && current.entry.layer &&
                 current.entry.layer.getLayers().length === current.entry.features.length) {
        var wish = pending;
        pending = null;
        if (!select(code, wish)) { window.location.href = href; }
        return true;
      }
      update();
      return true;
    };
  }

  [geoSelect, metricSelect, periodSelect, priorityBox].forEach(function (node) {
    if (node) {
      node.addEventListener("change", function () {
        shared = true;
        update();
      });
    }
  });
  document.getElementById("ss-map-controls").addEventListener("submit", function (event) {
    event.preventDefault();
  });
  window.addEventListener("hashchange", function () {
    if (applyAddress()) { update(); }
  });
  if (applyAddress()) {
    start();
    if (map) { update(); }
  } else if (frame && "IntersectionObserver" in window) {
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
