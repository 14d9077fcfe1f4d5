// The runs list: reload while a run shown is still going.
"use strict";
(function () {
  const table = document.getElementById("runs");
  if (!table || table.dataset.live !== "true") return;
  setTimeout(() => location.reload(), 1000 * parseFloat(table.dataset.refresh || "1.5"));
})();
