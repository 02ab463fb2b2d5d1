// Copy a STIX id by clicking it; nothing else on these pages needs a script.
document.addEventListener("click", (ev) => {
  const el = ev.target.closest(".objid");
  if (!el || !navigator.clipboard) return;
  navigator.clipboard.writeText(el.textContent.trim()).then(() => {
    el.classList.add("copied");
    setTimeout(() => el.classList.remove("copied"), 1200);
  });
});
