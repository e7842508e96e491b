// Reload the page every few seconds while a sync is queued or running, so progress bars move by
// themselves. The admin loads this script in <head>, so it must wait for the list to be parsed.
document.addEventListener("DOMContentLoaded", function () {
  if (document.querySelector("[data-sync-running]")) {
    window.setTimeout(function () { window.location.reload(); }, 3000);
  }
});
