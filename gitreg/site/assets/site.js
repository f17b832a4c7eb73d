// gitreg site: filtering tables as you type. The pages are complete without it.
"use strict";
(function () {
  function rowsOf(id) {
    var table = document.getElementById(id);
    return table ? Array.prototype.slice.call(table.querySelectorAll("tbody tr")) : [];
  }
  function filterRows(id, query) {
    rowsOf(id).forEach(function (row) {
      row.hidden = query !== "" && (row.getAttribute("data-search") || "").indexOf(query) < 0;
    });
  }
  function showMatches(list, models, query, prefix) {
    while (list.firstChild) list.removeChild(list.firstChild);
    if (query === "") { list.hidden = true; return; }
    var shown = 0;
    models.forEach(function (m) {
      var text = [m.name, m.description || ""].concat(Object.keys(m.labels || {}).map(function (k) { return k + "=" + m.labels[k]; })).join(" ").toLowerCase();
      if (shown >= 200 || text.indexOf(query) < 0) return;
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.href = prefix + m.url;
      link.textContent = m.name;
      item.appendChild(link);
      if (m.latest) item.appendChild(document.createTextNode(" " + m.latest));
      list.appendChild(item);
      shown += 1;
    });
    list.hidden = false;
  }
  document.querySelectorAll("input[data-filter]").forEach(function (input) {
    var id = input.getAttribute("data-filter");
    var source = input.getAttribute("data-source");
    var list = document.getElementById(id + "-matches");
    var models = null;
    var pages = document.querySelector("nav.pager");
    input.addEventListener("input", function () {
      var query = input.value.trim().toLowerCase();
      filterRows(id, query);
      if (!source || !list || !pages) return;  // one page: the table holds every model
      var prefix = source.slice(0, source.length - "data/models.json".length);
      if (models) { showMatches(list, models, query, prefix); return; }
      fetch(source).then(function (r) { return r.json(); }).then(function (data) {
        models = data;
        showMatches(list, models, input.value.trim().toLowerCase(), prefix);
      }).catch(function () { /* opened from a file: the page's own rows were filtered */ });
    });
  });
})();
