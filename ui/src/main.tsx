import { StrictMode } from "react";
import { createRoot } from "react-dom/client";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { App } from "./App";
import { api } from "./ipc";
import "./styles.css";

const queryClient = new QueryClient({
  defaultOptions: {
    queries: {
      // Every answer comes from the local cache through IPC: cheap, and never retried blindly.
      retry: false,
      refetchOnWindowFocus: false,
      staleTime: 30_000,
    },
  },
});

// The first IPC answer (profiles, keyring, settings) is asked for before React first renders,
// so the two overlap.
void queryClient.prefetchQuery({ queryKey: ["welcome"], queryFn: api.welcome, staleTime: Infinity });

const root = document.getElementById("root");
if (root) {
  createRoot(root).render(
    <StrictMode>
      <QueryClientProvider client={queryClient}>
        <App />
      </QueryClientProvider>
    </StrictMode>,
  );
}
