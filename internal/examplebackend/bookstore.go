package examplebackend

import (
	"context"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/emptypb"
	"google.golang.org/protobuf/types/known/timestamppb"

	examplev1 "github.com/tollgate-gw/tollgate/gen/tollgate/example/v1"
	"github.com/tollgate-gw/tollgate/internal/lazyregexp"
)

// watchQueueLimit is how many created books a WatchBooks call may have
// waiting to be sent before it is ended with RESOURCE_EXHAUSTED.
const watchQueueLimit = 1024

// idPattern is what a shelf or book ID must match.
var idPattern = lazyregexp.New(`^[A-Za-z0-9][A-Za-z0-9._~-]{0,62}$`)

const idRule = "IDs are 1-63 characters from [A-Za-z0-9._~-], starting with a letter or digit"

// Option configures a [Bookstore] made by [NewBookstore].
type Option func(*bookstoreOptions)

type bookstoreOptions struct {
	clock func() time.Time
	seed  bool
}

// WithClock makes the Bookstore take create_time values from clock instead
// of time.Now, for deterministic tests. A nil clock means time.Now.
func WithClock(clock func() time.Time) Option {
	return func(o *bookstoreOptions) {
		if clock != nil {
			o.clock = clock
		}
	}
}

// WithoutSeed makes the Bookstore start without books. The two shelves,
// "shelves/fiction" and "shelves/science", are still there, since the API
// has no way to create shelves.
func WithoutSeed() Option {
	return func(o *bookstoreOptions) { o.seed = false }
}

// Bookstore implements examplev1.BookstoreServiceServer in memory. It is
// safe for concurrent use. Make one with [NewBookstore].
type Bookstore struct {
	examplev1.UnimplementedBookstoreServiceServer

	clock func() time.Time

	mu      sync.Mutex
	shelves map[string]*shelf // by shelf ID
	nextID  int               // next candidate for a generated "b<n>" book ID

	shutdownOnce sync.Once
	done         chan struct{} // closed by shutdown; ends every WatchBooks
}

type shelf struct {
	proto *examplev1.Shelf
	books []*examplev1.Book // in creation order
	subs  map[*subscriber]struct{}
}

func (s *shelf) find(name string) int {
	return slices.IndexFunc(s.books, func(b *examplev1.Book) bool { return b.GetName() == name })
}

// subscriber is one WatchBooks call's queue of created books.
type subscriber struct {
	signal chan struct{} // capacity 1: "the queue changed"

	mu       sync.Mutex
	queue    []*examplev1.Book
	overflow bool
}

func (s *subscriber) push(b *examplev1.Book) {
	s.mu.Lock()
	if len(s.queue) >= watchQueueLimit {
		s.overflow = true
	} else {
		s.queue = append(s.queue, b)
	}
	s.mu.Unlock()
	select {
	case s.signal <- struct{}{}:
	default:
	}
}

func (s *subscriber) drain() ([]*examplev1.Book, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q := s.queue
	s.queue = nil
	return q, s.overflow
}

// NewBookstore returns a Bookstore with the shelves "shelves/fiction"
// (theme "Fiction") and "shelves/science" (theme "Science") and, unless
// [WithoutSeed] is given, the four books listed in the package documentation.
func NewBookstore(opts ...Option) *Bookstore {
	o := bookstoreOptions{clock: time.Now, seed: true}
	for _, opt := range opts {
		opt(&o)
	}
	b := &Bookstore{
		clock:   o.clock,
		shelves: map[string]*shelf{},
		nextID:  1,
		done:    make(chan struct{}),
	}
	for _, s := range []struct{ id, theme string }{{"fiction", "Fiction"}, {"science", "Science"}} {
		b.shelves[s.id] = &shelf{
			proto: &examplev1.Shelf{Name: "shelves/" + s.id, Theme: s.theme},
			subs:  map[*subscriber]struct{}{},
		}
	}
	if o.seed {
		for _, s := range []struct {
			shelf, title, author string
			pages                int32
		}{
			{"fiction", "The Left Hand of Darkness", "Ursula K. Le Guin", 304},
			{"fiction", "Dune", "Frank Herbert", 412},
			{"science", "A Brief History of Time", "Stephen Hawking", 256},
			{"science", "The Selfish Gene", "Richard Dawkins", 360},
		} {
			b.mu.Lock()
			b.addLocked(b.shelves[s.shelf], b.generateIDLocked(s.shelf), &examplev1.Book{
				Title: s.title, Author: s.author, Pages: s.pages,
			})
			b.mu.Unlock()
		}
	}
	return b
}

// shutdown ends every WatchBooks call, now and later, with UNAVAILABLE, so
// that a graceful server stop does not wait for watches that never end.
func (b *Bookstore) shutdown() {
	b.shutdownOnce.Do(func() { close(b.done) })
}

func errShuttingDown() error {
	return status.Error(codes.Unavailable, "bookstore: the server is shutting down; reconnect and watch again")
}

// ListShelves returns every shelf, ordered by name.
func (b *Bookstore) ListShelves(context.Context, *examplev1.ListShelvesRequest) (*examplev1.ListShelvesResponse, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	resp := &examplev1.ListShelvesResponse{}
	for _, id := range b.shelfIDsLocked() {
		resp.Shelves = append(resp.Shelves, proto.CloneOf(b.shelves[id].proto))
	}
	return resp, nil
}

// GetBook returns the named book. A malformed name is INVALID_ARGUMENT and a
// book that does not exist is NOT_FOUND.
func (b *Bookstore) GetBook(_ context.Context, req *examplev1.GetBookRequest) (*examplev1.Book, error) {
	shelfID, _, err := parseBookName(req.GetName(), "name")
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.shelves[shelfID]
	if !ok {
		return nil, b.shelfNotFoundLocked(shelfID)
	}
	i := s.find(req.GetName())
	if i < 0 {
		return nil, status.Errorf(codes.NotFound, "bookstore: book %q not found", req.GetName())
	}
	return proto.CloneOf(s.books[i]), nil
}

// ListBooks returns the books of a shelf in the order they were added, only
// those whose author is exactly req.Author if it is set. A shelf that does
// not exist is NOT_FOUND.
func (b *Bookstore) ListBooks(_ context.Context, req *examplev1.ListBooksRequest) (*examplev1.ListBooksResponse, error) {
	shelfID, err := parseShelfName(req.GetParent(), "parent")
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.shelves[shelfID]
	if !ok {
		return nil, b.shelfNotFoundLocked(shelfID)
	}
	resp := &examplev1.ListBooksResponse{}
	for _, bk := range s.books {
		if req.GetAuthor() == "" || bk.GetAuthor() == req.GetAuthor() {
			resp.Books = append(resp.Books, proto.CloneOf(bk))
		}
	}
	return resp, nil
}

// CreateBook adds a book to a shelf and returns it with its name and
// create_time set. The book's title is required; book_id is optional (the
// server then picks the next free "b<n>"). The name and create_time given
// in the request are ignored. A book that already exists is ALREADY_EXISTS.
func (b *Bookstore) CreateBook(_ context.Context, req *examplev1.CreateBookRequest) (*examplev1.Book, error) {
	shelfID, err := parseShelfName(req.GetParent(), "parent")
	if err != nil {
		return nil, err
	}
	if req.GetBookId() != "" && !idPattern.MatchString(req.GetBookId()) {
		return nil, invalidField("book_id", "%q is not a valid book ID: %s", req.GetBookId(), idRule)
	}
	if req.GetBook() == nil {
		return nil, invalidField("book", "the book is required")
	}
	if strings.TrimSpace(req.GetBook().GetTitle()) == "" {
		return nil, invalidField("book.title", "the title is required")
	}
	if req.GetBook().GetPages() < 0 {
		return nil, invalidField("book.pages", "pages must not be negative, got %d", req.GetBook().GetPages())
	}

	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.shelves[shelfID]
	if !ok {
		return nil, b.shelfNotFoundLocked(shelfID)
	}
	id := req.GetBookId()
	if id == "" {
		id = b.generateIDLocked(shelfID)
	} else if name := bookName(shelfID, id); s.find(name) >= 0 {
		return nil, status.Errorf(codes.AlreadyExists, "bookstore: book %q already exists; choose another book_id or leave it empty", name)
	}
	return proto.CloneOf(b.addLocked(s, id, req.GetBook())), nil
}

// DeleteBook removes the named book. A malformed name is INVALID_ARGUMENT and
// a book that does not exist is NOT_FOUND.
func (b *Bookstore) DeleteBook(_ context.Context, req *examplev1.DeleteBookRequest) (*emptypb.Empty, error) {
	shelfID, _, err := parseBookName(req.GetName(), "name")
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.shelves[shelfID]
	if !ok {
		return nil, b.shelfNotFoundLocked(shelfID)
	}
	i := s.find(req.GetName())
	if i < 0 {
		return nil, status.Errorf(codes.NotFound, "bookstore: book %q not found", req.GetName())
	}
	s.books = slices.Delete(s.books, i, i+1)
	return &emptypb.Empty{}, nil
}

// WatchBooks sends the books of a shelf, then every book created on that
// shelf until the call ends. It returns the context's error when the client
// cancels, UNAVAILABLE when the server shuts down, and RESOURCE_EXHAUSTED if
// the client falls more than 1024 books behind.
func (b *Bookstore) WatchBooks(req *examplev1.WatchBooksRequest, stream grpc.ServerStreamingServer[examplev1.Book]) error {
	shelfID, err := parseShelfName(req.GetParent(), "parent")
	if err != nil {
		return err
	}
	sub := &subscriber{signal: make(chan struct{}, 1)}
	b.mu.Lock()
	s, ok := b.shelves[shelfID]
	if !ok {
		err := b.shelfNotFoundLocked(shelfID)
		b.mu.Unlock()
		return err
	}
	// Taking the snapshot and subscribing under one lock means no book is
	// missed or sent twice.
	existing := make([]*examplev1.Book, len(s.books))
	for i, bk := range s.books {
		existing[i] = proto.CloneOf(bk)
	}
	s.subs[sub] = struct{}{}
	b.mu.Unlock()
	defer func() {
		b.mu.Lock()
		delete(s.subs, sub)
		b.mu.Unlock()
	}()

	ctx := stream.Context()
	for _, bk := range existing {
		if err := stream.Send(bk); err != nil {
			return err
		}
	}
	for {
		select {
		case <-ctx.Done():
			return status.FromContextError(ctx.Err()).Err()
		case <-b.done:
			return errShuttingDown()
		case <-sub.signal:
			books, overflow := sub.drain()
			for _, bk := range books {
				if err := stream.Send(bk); err != nil {
					return err
				}
			}
			if overflow {
				return status.Errorf(codes.ResourceExhausted,
					"bookstore: the watch fell more than %d books behind and was ended; watch again to get the shelf's current books", watchQueueLimit)
			}
		}
	}
}

// addLocked stores a copy of book as shelf s's book id and tells the
// shelf's watchers. b.mu must be held.
func (b *Bookstore) addLocked(s *shelf, id string, book *examplev1.Book) *examplev1.Book {
	bk := proto.CloneOf(book)
	bk.Name = s.proto.GetName() + "/books/" + id
	bk.CreateTime = timestamppb.New(b.clock())
	s.books = append(s.books, bk)
	for sub := range s.subs {
		sub.push(proto.CloneOf(bk))
	}
	return bk
}

// generateIDLocked returns the next "b<n>" that is free on shelfID. b.mu
// must be held.
func (b *Bookstore) generateIDLocked(shelfID string) string {
	s := b.shelves[shelfID]
	for {
		id := "b" + strconv.Itoa(b.nextID)
		b.nextID++
		if s.find(bookName(shelfID, id)) < 0 {
			return id
		}
	}
}

func (b *Bookstore) shelfIDsLocked() []string {
	ids := make([]string, 0, len(b.shelves))
	for id := range b.shelves {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func (b *Bookstore) shelfNotFoundLocked(shelfID string) error {
	var names []string
	for _, id := range b.shelfIDsLocked() {
		names = append(names, strconv.Quote("shelves/"+id))
	}
	return status.Errorf(codes.NotFound, "bookstore: shelf %q not found; the shelves are %s",
		"shelves/"+shelfID, strings.Join(names, ", "))
}

func bookName(shelfID, bookID string) string {
	return "shelves/" + shelfID + "/books/" + bookID
}

// parseShelfName checks that name is "shelves/{shelf}" and returns the shelf
// ID; field names the request field in the error.
func parseShelfName(name, field string) (string, error) {
	parts := strings.Split(name, "/")
	if len(parts) != 2 || parts[0] != "shelves" || !idPattern.MatchString(parts[1]) {
		return "", invalidField(field, `%s is not a shelf name: want "shelves/{shelf}", e.g. "shelves/fiction"; %s`, describe(name), idRule)
	}
	return parts[1], nil
}

// parseBookName checks that name is "shelves/{shelf}/books/{book}" and
// returns the shelf and book IDs; field names the request field in the error.
func parseBookName(name, field string) (shelfID, bookID string, err error) {
	parts := strings.Split(name, "/")
	if len(parts) != 4 || parts[0] != "shelves" || parts[2] != "books" ||
		!idPattern.MatchString(parts[1]) || !idPattern.MatchString(parts[3]) {
		return "", "", invalidField(field, `%s is not a book name: want "shelves/{shelf}/books/{book}", e.g. "shelves/fiction/books/b1"; %s`, describe(name), idRule)
	}
	return parts[1], parts[3], nil
}

func describe(s string) string {
	if s == "" {
		return "the empty string"
	}
	return fmt.Sprintf("%q", s)
}
