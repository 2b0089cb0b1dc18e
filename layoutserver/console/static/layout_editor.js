// The layout editor's drag and drop: a placement the user may move is dragged to a place in
// any region, and its own "Move" form (the one the page works with without this script) is
// submitted with that place chosen. Served from the console's static files: the console's
// Content-Security-Policy allows no inline script.
"use strict";
(function () {
  var dragged = null;

  function cards(list) {
    return Array.prototype.filter.call(list.children, function (item) {
      return item.hasAttribute("data-placement") && item !== dragged;
    });
  }

  // The index the dropped placement takes in ``list``: before the first card whose middle is
  // below the pointer.
  function indexAt(list, y) {
    var items = cards(list);
    for (var i = 0; i < items.length; i++) {
      var box = items[i].getBoundingClientRect();
      if (y < box.top + box.height / 2) return i;
    }
    return items.length;
  }

  function clearMarks() {
    document.querySelectorAll(".drop-target, .drop-before").forEach(function (node) {
      node.classList.remove("drop-target", "drop-before");
    });
  }

  document.querySelectorAll(".placement[data-movable]").forEach(function (item) {
    item.setAttribute("draggable", "true");
    item.addEventListener("dragstart", function (event) {
      dragged = item;
      item.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", item.getAttribute("data-placement"));
    });
    item.addEventListener("dragend", function () {
      item.classList.remove("dragging");
      dragged = null;
      clearMarks();
    });
  });

  document.querySelectorAll("ol.placements[data-region]").forEach(function (list) {
    // a placement moves within its scope: the layout's own regions, or one variant's
    function accepts() {
      return dragged && dragged.parentElement.getAttribute("data-variant") ===
        list.getAttribute("data-variant");
    }
    list.addEventListener("dragover", function (event) {
      if (!accepts()) return;
      event.preventDefault();
      clearMarks();
      list.classList.add("drop-target");
      var before = cards(list)[indexAt(list, event.clientY)];
      if (before) before.classList.add("drop-before");
    });
    list.addEventListener("drop", function (event) {
      if (!accepts()) return;
      event.preventDefault();
      var form = dragged.querySelector("form.move-form");
      var place = list.getAttribute("data-region") + ":" + indexAt(list, event.clientY);
      clearMarks();
      if (!form) return;
      var select = form.querySelector("select[name=to]");
      select.value = place;
      if (select.value !== place) return; // not a place the server offers: nothing happens
      form.requestSubmit ? form.requestSubmit() : form.submit();
    });
  });
})();
