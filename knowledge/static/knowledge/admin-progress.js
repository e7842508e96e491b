// Reload the page every few seconds while a sync is running, so progress bars move by themselves.
(function () {
  if (document.querySelector("[data-sync-running]")) {
    window.setTimeout(function () { window.location.reload(); }, 3000);
  }
})();
