package examplebackend_test

import (
	"context"
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/examplebackend"
)

var fixedTime = time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)

func fixedClock() time.Time { return fixedTime }

func names(books []*examplev1.Book) []string {
	var out []string
	for _, b := range books {
		out = append(out, b.GetName())
	}
	return out
}

func TestListShelves(t *testing.T) {
	_, conn := start(t)
	bs, _ := clients(conn)
	resp, err := bs.ListShelves(testContext(t), &examplev1.ListShelvesRequest{})
	if err != nil {
		t.Fatalf("ListShelves: %v", err)
	}
	want := &examplev1.ListShelvesResponse{Shelves: []*examplev1.Shelf{
		{Name: "shelves/fiction", Theme: "Fiction"},
		{Name: "shelves/science", Theme: "Science"},
	}}
	if !proto.Equal(resp, want) {
		t.Errorf("ListShelves = %v, want %v", resp, want)
	}
}

func TestSeed(t *testing.T) {
	tests := []struct {
		name string
		opts []examplebackend.Option
		want map[string][]string
	}{
		{
			name: "default",
			want: map[string][]string{
				"shelves/fiction": {"shelves/fiction/books/b1", "shelves/fiction/books/b2"},
				"shelves/science": {"shelves/science/books/b3", "shelves/science/books/b4"},
			},
		},
		{
			name: "WithoutSeed",
			opts: []examplebackend.Option{examplebackend.WithoutSeed()},
			want: map[string][]string{"shelves/fiction": nil, "shelves/science": nil},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			bs, _ := clients(serveRegistered(t, examplebackend.NewBookstore(tc.opts...), examplebackend.NewEcho()))
			for shelf, want := range tc.want {
				resp, err := bs.ListBooks(testContext(t), &examplev1.ListBooksRequest{Parent: shelf})
				if err != nil {
					t.Fatalf("ListBooks(%s): %v", shelf, err)
				}
				if got := names(resp.GetBooks()); !slices.Equal(got, want) {
					t.Errorf("ListBooks(%s) = %v, want %v", shelf, got, want)
				}
			}
		})
	}
}

func TestGetBook(t *testing.T) {
	b := examplebackend.NewBookstore(examplebackend.WithClock(fixedClock))
	bs, _ := clients(serveRegistered(t, b, examplebackend.NewEcho()))
	tests := []struct {
		name      string
		book      string
		wantCode  codes.Code
		wantField string
		wantTitle string
	}{
		{name: "found", book: "shelves/fiction/books/b2", wantTitle: "Dune"},
		{name: "other shelf", book: "shelves/science/books/b3", wantTitle: "A Brief History of Time"},
		{name: "missing book", book: "shelves/fiction/books/b3", wantCode: codes.NotFound},
		{name: "missing shelf", book: "shelves/poetry/books/b1", wantCode: codes.NotFound},
		{name: "empty", book: "", wantCode: codes.InvalidArgument, wantField: "name"},
		{name: "shelf only", book: "shelves/fiction", wantCode: codes.InvalidArgument, wantField: "name"},
		{name: "wrong collection", book: "shelves/fiction/authors/b1", wantCode: codes.InvalidArgument, wantField: "name"},
		{name: "empty id", book: "shelves/fiction/books/", wantCode: codes.InvalidArgument, wantField: "name"},
		{name: "bad character", book: "shelves/fiction/books/b 1", wantCode: codes.InvalidArgument, wantField: "name"},
		{name: "too deep", book: "shelves/fiction/books/b1/pages/1", wantCode: codes.InvalidArgument, wantField: "name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := bs.GetBook(testContext(t), &examplev1.GetBookRequest{Name: tc.book})
			checkStatus(t, err, tc.wantCode, tc.wantField)
			if err != nil {
				return
			}
			if got.GetName() != tc.book || got.GetTitle() != tc.wantTitle {
				t.Errorf("GetBook = %v, want name %q title %q", got, tc.book, tc.wantTitle)
			}
			if !got.GetCreateTime().AsTime().Equal(fixedTime) {
				t.Errorf("create_time = %v, want %v", got.GetCreateTime().AsTime(), fixedTime)
			}
		})
	}
}

func TestListBooks(t *testing.T) {
	_, conn := start(t)
	bs, _ := clients(conn)
	tests := []struct {
		name      string
		req       *examplev1.ListBooksRequest
		want      []string
		wantCode  codes.Code
		wantField string
	}{
		{name: "all", req: &examplev1.ListBooksRequest{Parent: "shelves/fiction"},
			want: []string{"shelves/fiction/books/b1", "shelves/fiction/books/b2"}},
		{name: "by author", req: &examplev1.ListBooksRequest{Parent: "shelves/fiction", Author: "Frank Herbert"},
			want: []string{"shelves/fiction/books/b2"}},
		{name: "author on other shelf", req: &examplev1.ListBooksRequest{Parent: "shelves/science", Author: "Frank Herbert"}},
		{name: "unknown shelf", req: &examplev1.ListBooksRequest{Parent: "shelves/poetry"}, wantCode: codes.NotFound},
		{name: "empty parent", req: &examplev1.ListBooksRequest{}, wantCode: codes.InvalidArgument, wantField: "parent"},
		{name: "malformed parent", req: &examplev1.ListBooksRequest{Parent: "fiction"}, wantCode: codes.InvalidArgument, wantField: "parent"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := bs.ListBooks(testContext(t), tc.req)
			checkStatus(t, err, tc.wantCode, tc.wantField)
			if err != nil {
				return
			}
			if got := names(resp.GetBooks()); !slices.Equal(got, tc.want) {
				t.Errorf("ListBooks = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestCreateBook(t *testing.T) {
	b := examplebackend.NewBookstore(examplebackend.WithClock(fixedClock))
	bs, _ := clients(serveRegistered(t, b, examplebackend.NewEcho()))
	// The cases run in order: later ones depend on books made by earlier ones.
	tests := []struct {
		name      string
		req       *examplev1.CreateBookRequest
		wantName  string
		wantCode  codes.Code
		wantField string
	}{
		{
			name:     "generated id",
			req:      &examplev1.CreateBookRequest{Parent: "shelves/fiction", Book: &examplev1.Book{Title: "Solaris", Author: "Stanisław Lem", Pages: 204}},
			wantName: "shelves/fiction/books/b5",
		},
		{
			name:     "given id",
			req:      &examplev1.CreateBookRequest{Parent: "shelves/science", BookId: "cosmos", Book: &examplev1.Book{Title: "Cosmos"}},
			wantName: "shelves/science/books/cosmos",
		},
		{
			name:     "given id that a later generated id would take",
			req:      &examplev1.CreateBookRequest{Parent: "shelves/fiction", BookId: "b6", Book: &examplev1.Book{Title: "Ubik"}},
			wantName: "shelves/fiction/books/b6",
		},
		{
			name:     "generated id skips taken ids",
			req:      &examplev1.CreateBookRequest{Parent: "shelves/fiction", Book: &examplev1.Book{Title: "Neuromancer"}},
			wantName: "shelves/fiction/books/b7",
		},
		{
			name:     "request name and create_time are ignored",
			req:      &examplev1.CreateBookRequest{Parent: "shelves/fiction", BookId: "x", Book: &examplev1.Book{Name: "shelves/science/books/y", Title: "X"}},
			wantName: "shelves/fiction/books/x",
		},
		{
			name:     "already exists",
			req:      &examplev1.CreateBookRequest{Parent: "shelves/fiction", BookId: "b1", Book: &examplev1.Book{Title: "Again"}},
			wantCode: codes.AlreadyExists,
		},
		{
			name:     "unknown shelf",
			req:      &examplev1.CreateBookRequest{Parent: "shelves/poetry", Book: &examplev1.Book{Title: "Odes"}},
			wantCode: codes.NotFound,
		},
		{
			name:      "missing title",
			req:       &examplev1.CreateBookRequest{Parent: "shelves/fiction", Book: &examplev1.Book{Author: "Anonymous"}},
			wantCode:  codes.InvalidArgument,
			wantField: "book.title",
		},
		{
			name:      "blank title",
			req:       &examplev1.CreateBookRequest{Parent: "shelves/fiction", Book: &examplev1.Book{Title: "  "}},
			wantCode:  codes.InvalidArgument,
			wantField: "book.title",
		},
		{
			name:      "missing book",
			req:       &examplev1.CreateBookRequest{Parent: "shelves/fiction"},
			wantCode:  codes.InvalidArgument,
			wantField: "book",
		},
		{
			name:      "negative pages",
			req:       &examplev1.CreateBookRequest{Parent: "shelves/fiction", Book: &examplev1.Book{Title: "T", Pages: -1}},
			wantCode:  codes.InvalidArgument,
			wantField: "book.pages",
		},
		{
			name:      "bad book id",
			req:       &examplev1.CreateBookRequest{Parent: "shelves/fiction", BookId: "a/b", Book: &examplev1.Book{Title: "T"}},
			wantCode:  codes.InvalidArgument,
			wantField: "book_id",
		},
		{
			name:      "malformed parent",
			req:       &examplev1.CreateBookRequest{Parent: "shelves/", Book: &examplev1.Book{Title: "T"}},
			wantCode:  codes.InvalidArgument,
			wantField: "parent",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			got, err := bs.CreateBook(ctx, tc.req)
			checkStatus(t, err, tc.wantCode, tc.wantField)
			if err != nil {
				return
			}
			if got.GetName() != tc.wantName {
				t.Errorf("name = %q, want %q", got.GetName(), tc.wantName)
			}
			if got.GetTitle() != tc.req.GetBook().GetTitle() || got.GetAuthor() != tc.req.GetBook().GetAuthor() || got.GetPages() != tc.req.GetBook().GetPages() {
				t.Errorf("CreateBook = %v, want the fields of %v", got, tc.req.GetBook())
			}
			if !got.GetCreateTime().AsTime().Equal(fixedTime) {
				t.Errorf("create_time = %v, want %v", got.GetCreateTime().AsTime(), fixedTime)
			}
			stored, err := bs.GetBook(ctx, &examplev1.GetBookRequest{Name: got.GetName()})
			if err != nil {
				t.Fatalf("GetBook(%s) after CreateBook: %v", got.GetName(), err)
			}
			if !proto.Equal(stored, got) {
				t.Errorf("GetBook = %v, want %v", stored, got)
			}
		})
	}
}

func TestDeleteBook(t *testing.T) {
	_, conn := start(t)
	bs, _ := clients(conn)
	// The cases run in order.
	tests := []struct {
		name      string
		book      string
		wantCode  codes.Code
		wantField string
	}{
		{name: "existing", book: "shelves/science/books/b3"},
		{name: "already deleted", book: "shelves/science/books/b3", wantCode: codes.NotFound},
		{name: "never existed", book: "shelves/science/books/nope", wantCode: codes.NotFound},
		{name: "unknown shelf", book: "shelves/poetry/books/b1", wantCode: codes.NotFound},
		{name: "malformed", book: "shelves/science", wantCode: codes.InvalidArgument, wantField: "name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testContext(t)
			_, err := bs.DeleteBook(ctx, &examplev1.DeleteBookRequest{Name: tc.book})
			checkStatus(t, err, tc.wantCode, tc.wantField)
			if err != nil {
				return
			}
			_, err = bs.GetBook(ctx, &examplev1.GetBookRequest{Name: tc.book})
			checkStatus(t, err, codes.NotFound, "")
		})
	}
	resp, err := bs.ListBooks(testContext(t), &examplev1.ListBooksRequest{Parent: "shelves/science"})
	if err != nil {
		t.Fatalf("ListBooks: %v", err)
	}
	if got, want := names(resp.GetBooks()), []string{"shelves/science/books/b4"}; !slices.Equal(got, want) {
		t.Errorf("ListBooks after delete = %v, want %v", got, want)
	}
}

func TestWatchBooks(t *testing.T) {
	_, conn := start(t)
	bs, _ := clients(conn)
	ctx, cancel := context.WithCancel(testContext(t))
	defer cancel()

	stream, err := bs.WatchBooks(ctx, &examplev1.WatchBooksRequest{Parent: "shelves/fiction"})
	if err != nil {
		t.Fatalf("WatchBooks: %v", err)
	}
	recv := func() *examplev1.Book {
		t.Helper()
		b, err := stream.Recv()
		if err != nil {
			t.Fatalf("Recv: %v", err)
		}
		return b
	}
	for _, want := range []string{"shelves/fiction/books/b1", "shelves/fiction/books/b2"} {
		if got := recv().GetName(); got != want {
			t.Fatalf("existing book = %q, want %q", got, want)
		}
	}

	// Books created after the watch started: only the fiction ones arrive,
	// in order, including several created at once.
	create := func(shelf, id string) {
		t.Helper()
		if _, err := bs.CreateBook(ctx, &examplev1.CreateBookRequest{Parent: shelf, BookId: id, Book: &examplev1.Book{Title: id}}); err != nil {
			t.Fatalf("CreateBook(%s, %s): %v", shelf, id, err)
		}
	}
	create("shelves/science", "s1")
	create("shelves/fiction", "f1")
	if got, want := recv().GetName(), "shelves/fiction/books/f1"; got != want {
		t.Fatalf("watched book = %q, want %q", got, want)
	}
	var want []string
	for i := range 20 {
		id := fmt.Sprintf("burst%d", i)
		create("shelves/fiction", id)
		want = append(want, "shelves/fiction/books/"+id)
	}
	var got []string
	for range want {
		got = append(got, recv().GetName())
	}
	if !slices.Equal(got, want) {
		t.Fatalf("watched burst = %v, want %v", got, want)
	}

	cancel()
	for {
		_, err := stream.Recv()
		if err == nil {
			continue
		}
		if status.Code(err) != codes.Canceled {
			t.Fatalf("Recv after cancel: %v, want CANCELED", err)
		}
		break
	}
}

func TestWatchBooksErrors(t *testing.T) {
	_, conn := start(t)
	bs, _ := clients(conn)
	tests := []struct {
		name      string
		parent    string
		wantCode  codes.Code
		wantField string
	}{
		{name: "unknown shelf", parent: "shelves/poetry", wantCode: codes.NotFound},
		{name: "malformed", parent: "shelves/fiction/books", wantCode: codes.InvalidArgument, wantField: "parent"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			stream, err := bs.WatchBooks(testContext(t), &examplev1.WatchBooksRequest{Parent: tc.parent})
			if err != nil {
				t.Fatalf("WatchBooks: %v", err)
			}
			_, err = stream.Recv()
			checkStatus(t, err, tc.wantCode, tc.wantField)
		})
	}
}

// TestWatchBooksEndsOnStop checks that Stop ends open watches with
// UNAVAILABLE at once instead of waiting for its grace period.
func TestWatchBooksEndsOnStop(t *testing.T) {
	srv, conn := start(t)
	bs, _ := clients(conn)
	stream, err := bs.WatchBooks(testContext(t), &examplev1.WatchBooksRequest{Parent: "shelves/science"})
	if err != nil {
		t.Fatalf("WatchBooks: %v", err)
	}
	for range 2 {
		if _, err := stream.Recv(); err != nil {
			t.Fatalf("Recv: %v", err)
		}
	}
	began := time.Now()
	srv.Stop()
	if d := time.Since(began); d > 2*time.Second {
		t.Errorf("Stop took %v with a watch open", d)
	}
	_, err = stream.Recv()
	if status.Code(err) != codes.Unavailable {
		t.Errorf("Recv after Stop: %v, want UNAVAILABLE", err)
	}
	if err == io.EOF {
		t.Errorf("Recv after Stop: io.EOF, want an error")
	}
	srv.Stop() // a second Stop does nothing
}

// TestBookstoreConcurrent runs creates, deletes, lists and watches at once,
// for the race detector.
func TestBookstoreConcurrent(t *testing.T) {
	b := examplebackend.NewBookstore()
	bs, _ := clients(serveRegistered(t, b, examplebackend.NewEcho()))
	ctx := testContext(t)
	const workers, perWorker = 4, 25
	errs := make(chan error, workers*2)
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watch, err := bs.WatchBooks(watchCtx, &examplev1.WatchBooksRequest{Parent: "shelves/fiction"})
	if err != nil {
		t.Fatalf("WatchBooks: %v", err)
	}
	// The handler subscribes when the call reaches the server, not when
	// WatchBooks returns: a book created and deleted before then would
	// never be sent. Receiving the seeded books first proves the watch is
	// subscribed before any worker starts.
	seen := map[string]bool{}
	for len(seen) < 2 {
		bk, err := watch.Recv()
		if err != nil {
			t.Fatalf("watch Recv of the seeded books: %v", err)
		}
		seen[bk.GetName()] = true
	}
	for w := range workers {
		go func() {
			for i := range perWorker {
				id := fmt.Sprintf("w%d-%d", w, i)
				if _, err := bs.CreateBook(ctx, &examplev1.CreateBookRequest{Parent: "shelves/fiction", BookId: id, Book: &examplev1.Book{Title: id}}); err != nil {
					errs <- err
					return
				}
				if _, err := bs.ListBooks(ctx, &examplev1.ListBooksRequest{Parent: "shelves/fiction"}); err != nil {
					errs <- err
					return
				}
				if i%2 == 0 {
					if _, err := bs.DeleteBook(ctx, &examplev1.DeleteBookRequest{Name: "shelves/fiction/books/" + id}); err != nil {
						errs <- err
						return
					}
				}
			}
			errs <- nil
		}()
	}
	for range workers {
		if err := <-errs; err != nil {
			t.Fatalf("worker: %v", err)
		}
	}
	// Then every created book exactly once.
	for len(seen) < 2+workers*perWorker {
		bk, err := watch.Recv()
		if err != nil {
			t.Fatalf("watch Recv after %d books: %v", len(seen), err)
		}
		if seen[bk.GetName()] {
			t.Fatalf("watch sent %s twice", bk.GetName())
		}
		seen[bk.GetName()] = true
	}
	resp, err := bs.ListBooks(ctx, &examplev1.ListBooksRequest{Parent: "shelves/fiction"})
	if err != nil {
		t.Fatalf("ListBooks: %v", err)
	}
	deletedPerWorker := (perWorker + 1) / 2 // the even i
	if got, want := len(resp.GetBooks()), 2+workers*(perWorker-deletedPerWorker); got != want {
		t.Errorf("%d books left, want %d", got, want)
	}
}

// blockingWatchStream is a WatchBooks server stream whose Send blocks until
// release is closed, to make a watcher fall behind.
type blockingWatchStream struct {
	grpc.ServerStream
	ctx     context.Context
	started chan struct{} // closed by the first Send
	release chan struct{}
	sent    int
}

func (s *blockingWatchStream) Context() context.Context { return s.ctx }

func (s *blockingWatchStream) Send(*examplev1.Book) error {
	s.sent++
	if s.sent == 1 {
		close(s.started)
	}
	if s.sent > 2 { // the seeded books go through
		<-s.release
	}
	return nil
}

func TestWatchBooksFallsBehind(t *testing.T) {
	b := examplebackend.NewBookstore()
	ctx := testContext(t)
	stream := &blockingWatchStream{ctx: ctx, started: make(chan struct{}), release: make(chan struct{})}
	done := make(chan error, 1)
	go func() { done <- b.WatchBooks(&examplev1.WatchBooksRequest{Parent: "shelves/fiction"}, stream) }()
	// WatchBooks subscribes before it sends the existing books.
	<-stream.started

	// Create books until the watcher has one blocked in Send and more than
	// its queue holds waiting.
	for i := 0; i < 3000; i++ {
		id := fmt.Sprintf("x%d", i)
		if _, err := b.CreateBook(ctx, &examplev1.CreateBookRequest{Parent: "shelves/fiction", BookId: id, Book: &examplev1.Book{Title: id}}); err != nil {
			t.Fatalf("CreateBook: %v", err)
		}
	}
	close(stream.release)
	select {
	case err := <-done:
		checkStatus(t, err, codes.ResourceExhausted, "")
	case <-ctx.Done():
		t.Fatal("WatchBooks did not end after falling behind")
	}
}
