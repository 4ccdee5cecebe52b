// Sort a table's rows by the clicked column: numbers by value (data-sort), text otherwise;
// n/a cells always last; a second click reverses. No library, nothing fetched.
(function () {
  function compare(a, b, col, sign) {
    var ca = a.cells[col], cb = b.cells[col];
    var na = ca.classList.contains("na"), nb = cb.classList.contains("na");
    if (na || nb) { return na === nb ? 0 : (na ? 1 : -1); }
    var ka = ca.getAttribute("data-sort"), kb = cb.getAttribute("data-sort");
    if (ka !== null && kb !== null) { return sign * (parseFloat(ka) - parseFloat(kb)); }
    return sign * ca.textContent.trim().localeCompare(cb.textContent.trim());
  }
  function sortBy(table, th, col) {
    var dir = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
    table.querySelectorAll("thead th").forEach(function (h) {
      if (h.hasAttribute("aria-sort")) { h.setAttribute("aria-sort", "none"); }
    });
    th.setAttribute("aria-sort", dir);
    var sign = dir === "ascending" ? 1 : -1;
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.forEach(function (r, i) { r.dataset.position = i; });
    rows.sort(function (a, b) {
      return compare(a, b, col, sign) || (a.dataset.position - b.dataset.position);
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  document.querySelectorAll("table.sortable").forEach(function (table) {
    table.querySelectorAll("thead th").forEach(function (th, col) {
      var button = th.querySelector("button");
      if (button) { button.addEventListener("click", function () { sortBy(table, th, col); }); }
    });
  });
})();
