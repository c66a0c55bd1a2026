/* "Find your area": the WAI-ARIA combobox of the overview, map and areas pages.

   Nothing is fetched until the box is used. Then search/index.json says which shards exist and
   each query reads one shard: search/n-<first two letters of a word>.json for names and codes,
   search/p-<first four characters>.json for postcodes (see stopsearch/outputs/site/search.py,
   whose fold() this file's fold() repeats). Keys: Down and Up move through the suggestions,
   Enter opens the one chosen, Escape closes the list (a second Escape clears the box). On the
   map page a chosen ward, neighbourhood or council is selected on the map instead
   (window.ssMapSelect, from map.js). */
(function () {
  "use strict";
  var form = document.getElementById("ss-search");
  if (!form || !window.fetch) { return; }
  var input = document.getElementById("ss-search-input");
  var list = document.getElementById("ss-search-list");
  var status = document.getElementById("ss-search-status");
  var root = form.getAttribute("data-root") || "";
  var indexUrl = form.getAttribute("data-index");
  var folder = indexUrl.slice(0, indexUrl.lastIndexOf("/") + 1);
  var LIMIT = 10;
  var KIND_ORDER = ["ward", "neighbourhood", "priority_area", "local_authority"];
  var cache = {};
  var index = null;
  var results = [];
  var active = -1;
  var asked = 0;
  var announced = "";

  function getJSON(url) {
    if (!cache[url]) {
      cache[url] = fetch(url).then(function (response) {
        if (!response.ok) { throw new Error(url + ": " + response.status); }
        return response.json();
      });
    }
    return cache[url];
  }

  function loadIndex() {
    if (!index) {
      index = getJSON(indexUrl).then(function (data) {
        data.nameSet = {};
        data.names.forEach(function (k) { data.nameSet[k] = true; });
        data.postcodeSet = {};
        data.postcodes.forEach(function (k) { data.postcodeSet[k] = true; });
        return data;
      });
    }
    return index;
  }

  function fold(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .replace(/['\u2019]/g, "").replace(/[^a-z0-9]+/g, " ").trim();
  }

  function wordsOf(text) {
    var folded = fold(text);
    return folded ? folded.split(" ") : [];
  }

  /* Rank: the name starts with the query, then its first word does, then any word; then by
     kind (wards first) and name. */
  function score(entry, query, queryWords) {
    var name = fold(entry[0]);
    var words = wordsOf(entry[0]).concat(wordsOf(entry[2]));
    var all = queryWords.every(function (q) {
      return words.some(function (w) { return w.indexOf(q) === 0; });
    });
    if (!all) { return -1; }
    if (name.indexOf(query) === 0) { return 0; }
    if (fold(entry[2]) === query) { return 0; }
    return words[0].indexOf(queryWords[0]) === 0 ? 1 : 2;
  }

  function nameResults(data, text) {
    var query = fold(text);
    var queryWords = query ? query.split(" ") : [];
    var keyed = queryWords.filter(function (w) { return w.length >= data.key_length; });
    if (!keyed.length) { return Promise.resolve(null); }
    var key = keyed[0].slice(0, data.key_length);
    if (!data.nameSet[key]) { return Promise.resolve([]); }
    return getJSON(folder + "n-" + key + ".json").then(function (shard) {
      var found = [];
      shard.areas.forEach(function (entry) {
        var s = score(entry, query, queryWords);
        if (s >= 0) { found.push({ entry: entry, score: s }); }
      });
      found.sort(function (a, b) {
        return a.score - b.score ||
          KIND_ORDER.indexOf(a.entry[1]) - KIND_ORDER.indexOf(b.entry[1]) ||
          (fold(a.entry[0]) < fold(b.entry[0]) ? -1 : fold(a.entry[0]) > fold(b.entry[0]) ? 1 : 0);
      });
      return found.map(function (f) {
        return { entry: f.entry, label: f.entry[0], postcode: "" };
      });
    });
  }

  function postcodeResults(data, text) {
    var squeezed = text.replace(/\s+/g, "").toUpperCase();
    if (!/^[A-Z]{1,2}[0-9]/.test(squeezed) || squeezed.length < data.postcode_key_length) {
      return Promise.resolve([]);
    }
    var key = squeezed.slice(0, data.postcode_key_length).toLowerCase();
    if (!data.postcodeSet[key]) { return Promise.resolve([]); }
    return getJSON(folder + "p-" + key + ".json").then(function (shard) {
      var found = [];
      Object.keys(shard.postcodes).sort().forEach(function (code) {
        if (code.indexOf(squeezed) !== 0) { return; }
        var shown = code.slice(0, -3) + " " + code.slice(-3);
        shard.postcodes[code].forEach(function (place) {
          var entry = shard.areas[place];
          found.push({ entry: entry, label: entry[0], postcode: shown });
        });
      });
      return found;
    });
  }

  function detailOf(result, kinds) {
    var entry = result.entry;
    var kind = kinds[entry[1]] || entry[1];
    var where = entry[4] ? kind + " in " + entry[4] : kind;
    if (!result.postcode) { return where; }
    return entry[0] + " (" + where.charAt(0).toLowerCase() + where.slice(1) + ")";
  }

  function render(found, kinds, total) {
    list.textContent = "";
    results = found;
    active = -1;
    input.removeAttribute("aria-activedescendant");
    found.forEach(function (result, i) {
      var option = document.createElement("li");
      option.id = "ss-search-option-" + i;
      option.setAttribute("role", "option");
      option.setAttribute("aria-selected", "false");
      option.setAttribute("data-kind", result.entry[1]);
      option.setAttribute("data-code", result.entry[2]);
      var name = document.createElement("span");
      name.className = "option-name";
      name.textContent = result.postcode ? result.postcode : result.label;
      var detail = document.createElement("span");
      detail.className = "option-detail";
      detail.textContent = detailOf(result, kinds);
      option.appendChild(name);
      option.appendChild(document.createTextNode(" "));
      option.appendChild(detail);
      option.addEventListener("mousedown", function (event) { event.preventDefault(); });
      option.addEventListener("click", function () { choose(i); });
      list.appendChild(option);
    });
    var open = found.length > 0;
    list.hidden = !open;
    input.setAttribute("aria-expanded", open ? "true" : "false");
    var message;
    if (total === 0) {
      message = "No area found for \u201c" + input.value.trim() + "\u201d.";
    } else if (total > found.length) {
      message = total + " areas found; the first " + found.length +
        " are listed. Type more to narrow them down.";
    } else {
      message = total === 1 ? "1 area found." : total + " areas found.";
    }
    say(total === 0 || open ? message + (open ? " Use the down arrow to choose." : "") : "");
  }

  function say(message) {
    if (message === announced) { return; }
    announced = message;
    status.textContent = message;
  }

  function close() {
    list.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  }

  function update() {
    var text = input.value;
    var mine = ++asked;
    if (fold(text).length < 2 && text.replace(/\s+/g, "").length < 2) {
      results = [];
      list.textContent = "";
      close();
      say("");
      return;
    }
    loadIndex().then(function (data) {
      return Promise.all([postcodeResults(data, text), nameResults(data, text)])
        .then(function (parts) {
          if (mine !== asked) { return; }
          var names = parts[1];
          if (names === null && !parts[0].length) {
            results = [];
            list.textContent = "";
            close();
            say("Type at least two letters of a word.");
            return;
          }
          var found = parts[0].concat(names || []);
          render(found.slice(0, LIMIT), data.kinds, found.length);
        });
    }).catch(function (error) {
      if (mine === asked) { say("The search could not load its index (" + error.message + ")."); }
    });
  }

  function highlight(i) {
    var options = list.children;
    if (active >= 0 && options[active]) {
      options[active].setAttribute("aria-selected", "false");
      options[active].classList.remove("active");
    }
    active = i;
    if (i < 0) { input.removeAttribute("aria-activedescendant"); return; }
    options[i].setAttribute("aria-selected", "true");
    options[i].classList.add("active");
    input.setAttribute("aria-activedescendant", options[i].id);
    if (options[i].scrollIntoView) { options[i].scrollIntoView({ block: "nearest" }); }
  }

  function choose(i) {
    var result = results[i];
    if (!result) { return; }
    var entry = result.entry;
    close();
    input.value = result.postcode || entry[0];
    if (window.ssMapSelect && window.ssMapSelect(entry[1], entry[2], root + entry[3])) {
      say(entry[0] + " is selected on the map.");
      return;
    }
    window.location.href = root + entry[3];
  }

  input.addEventListener("focus", loadIndex);
  input.addEventListener("input", update);
  input.addEventListener("keydown", function (event) {
    var open = !list.hidden && results.length > 0;
    if (event.key === "ArrowDown" || event.key === "Down") {
      event.preventDefault();
      if (!results.length) { return; }
      if (!open) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
      }
      highlight(event.altKey && !open ? -1 : (active + 1) % results.length);
    } else if (event.key === "ArrowUp" || event.key === "Up") {
      event.preventDefault();
      if (!results.length) { return; }
      if (!open) {
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
      }
      highlight(active <= 0 ? results.length - 1 : active - 1);
    } else if (event.key === "Enter") {
      if (open && active >= 0) {
        event.preventDefault();
        choose(active);
      }
    } else if (event.key === "Escape" || event.key === "Esc") {
      if (open) {
        event.preventDefault();
        close();
      } else if (input.value) {
        event.preventDefault();
        input.value = "";
        results = [];
        list.textContent = "";
        say("");
      }
    } else if (event.key === "Tab") {
      close();
    }
  });
  input.addEventListener("blur", function () { window.setTimeout(close, 150); });
  form.addEventListener("submit", function (event) {
    if (!window.Promise) { return; }
    event.preventDefault();
    if (results.length) { choose(active >= 0 ? active : 0); return; }
    update();
  });
})();
