"""On a phone the sidebar covers most of the screen; Streamlit closes it after a page is chosen only
when the browser's user agent says "mobile" (a narrow desktop window, a tablet in portrait, or a phone
asking for the desktop site keeps it open over the page). This closes it after a choice whenever the
window is narrower than Streamlit's own breakpoint (768 px), whatever the user agent. A fixed script,
no user data; it runs once per browser tab."""
from __future__ import annotations

import streamlit as st

CLOSE_SIDEBAR_JS = """<script>
(function () {
  if (window.__meterlineCloseSidebar) return;
  window.__meterlineCloseSidebar = true;
  document.addEventListener("click", function (event) {
    var link = event.target.closest && event.target.closest('[data-testid="stSidebarNav"] a');
    if (!link || window.innerWidth >= 768) return;
    setTimeout(function () {
      var sidebar = document.querySelector('[data-testid="stSidebar"]');
      if (!sidebar || sidebar.getAttribute("data-collapsed") === "true") return;
      var close = document.querySelector('[data-testid="stSidebarCollapseButton"] button');
      if (close) close.click();
    }, 60);
  }, true);
})();
</script>"""


def close_sidebar_after_navigation() -> None:
    st.html(CLOSE_SIDEBAR_JS, unsafe_allow_javascript=True)
